"""Each mcflow component's IAM policies, taken from the SAM-translated template, and a moto
server set up to enforce them (the IAM-enforced emulator tests drive it).

Usage:
  python iam_emulator.py policies TEMPLATE_JSON
      Prints {component: [statement, ...]} with every intrinsic function resolved for the
      test deployment (name "mcflow", account 123456789012, us-east-1).
  python iam_emulator.py setup MOTO_URL TEMPLATE_JSON [KEY=FILE ...]
      On a moto server started with INITIAL_NO_AUTH_ACTION_COUNT, while requests are
      still unauthenticated: creates the bucket (versioned), the shard queue and its
      dead-letter queue, one role per component with that component's policies, an
      "admin" role (for uploads, as the data pipeline would make them), and a user allowed
      only to assume roles. Uploads each FILE at KEY. Then sends requests with dummy keys
      until moto refuses one (enforcement is on), assumes every role as the user, and
      prints the bucket, the queue URLs and each role's temporary credentials as JSON.
"""
import json
import re
import sys

ACCOUNT = "123456789012"
REGION = "us-east-1"
NAME = "mcflow"
BUCKET = f"{NAME}-{ACCOUNT}-{REGION}"

# Component -> the template resource whose policies it runs under.
COMPONENTS = {
    "orchestrator": "OrchestratorFunctionRole",
    "worker": "WorkerFunctionRole",
    "reducer": "ReducerFunctionRole",
    "pretraffic": "PreTrafficHookFunctionRole",
    "posttraffic": "PostTrafficHookFunctionRole",
    "operator": "OperatorPolicy",
}

# AWS authorises the SQS batch calls by the single-message action; moto checks the batch
# action's own name, so the harness grants it wherever the template grants the single one.
SQS_BATCH = {
    "sqs:SendMessage": "sqs:SendMessageBatch",
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
}

QUEUES = {
    "ShardQueue": f"{NAME}-shards",
    "ShardDeadLetterQueue": f"{NAME}-shards-dlq",
    "AsyncFailureQueue": f"{NAME}-async-failures",
}


def attribute(resource, attr):
    if resource in QUEUES:
        if attr == "Arn":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUES[resource]}"
        if attr == "QueueName":
            return QUEUES[resource]
    if resource == "ResultsBucket" and attr == "Arn":
        return f"arn:aws:s3:::{BUCKET}"
    if resource == "DataKey" and attr == "Arn":
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/test-data-key"
    if attr == "Version":
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{NAME}-{resource}:1"
    if attr == "Arn":
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{NAME}-{resource}"
    return f"{resource}.{attr}"


def ref(name, template):
    pseudo = {
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
        "AWS::StackName": NAME,
        "AWS::URLSuffix": "amazonaws.com",
        "DeploymentName": NAME,
    }
    if name in pseudo:
        return pseudo[name]
    if name in template.get("Parameters", {}):
        return str(template["Parameters"][name].get("Default", ""))
    if name in QUEUES:
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QUEUES[name]}"
    if name == "ResultsBucket":
        return BUCKET
    if name == "DataKey":
        return "test-data-key"
    resource = template.get("Resources", {}).get(name, {})
    kind = resource.get("Type")
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
    if kind == "AWS::Lambda::Version":
        target = resource["Properties"]["FunctionName"].get("Ref", name)
        return f"{function}{lambda_name(target, template)}:1"
    if kind == "AWS::Lambda::Alias":
        target = resource["Properties"]["FunctionName"].get("Ref", name)
        return f"{function}{lambda_name(target, template)}:live"
    if kind == "AWS::Lambda::Function":
        return lambda_name(name, template)
    return f"{NAME}-{name}"


def lambda_name(logical, template):
    props = template["Resources"].get(logical, {}).get("Properties", {})
    return resolve(props.get("FunctionName", logical), template)


def resolve(value, template):
    if isinstance(value, list):
        return [resolve(v, template) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return ref(arg, template)
        if fn == "Fn::GetAtt":
            resource, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return attribute(resource, attr)
        if fn == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

            def sub(m):
                key = m.group(1)
                if key.startswith("!"):
                    return "${" + key[1:] + "}"
                if key in extra:
                    return str(resolve(extra[key], template))
                if "." in key and not key.startswith("AWS::"):
                    resource, attr = key.split(".", 1)
                    return attribute(resource, attr)
                return ref(key, template)

            return re.sub(r"\$\{([^}]+)\}", sub, text)
        if fn == "Fn::Join":
            return arg[0].join(str(resolve(v, template)) for v in arg[1])
        if fn == "Fn::Split":
            return str(resolve(arg[1], template)).split(arg[0])
        if fn == "Fn::Select":
            return resolve(arg[1], template)[int(resolve(arg[0], template))]
    return {k: resolve(v, template) for k, v in value.items()}


def statements_of(resource):
    props = resource["Properties"]
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        docs = [props["PolicyDocument"]]
    else:
        docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
    out = []
    for doc in docs:
        st = doc["Statement"]
        out.extend(st if isinstance(st, list) else [st])
    return out


def policies(template):
    resources = template["Resources"]
    return {
        component: resolve(statements_of(resources[logical]), template)
        for component, logical in COMPONENTS.items()
    }


def for_moto(statements):
    """The statements as moto needs them to mean what they mean on AWS:
    - SQS batch action names beside the single ones;
    - sqs:GetQueueUrl on "*" where it is granted on a queue (moto authorises GetQueueUrl
      against "*", having no queue URL to name);
    - s3:DeleteObject on the bucket where it is granted on keys of it (moto authorises a
      DeleteObjects request against the bucket; AWS checks s3:DeleteObject per key).
    Each widens only what moto checks differently; the static check in the Rust tests
    holds the template itself to AWS's rules."""
    out = []
    for st in statements:
        st = dict(st)
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        st["Action"] = actions + [SQS_BATCH[a] for a in actions if a in SQS_BATCH]
        out.append(st)
        if "sqs:GetQueueUrl" in actions:
            out.append({"Effect": "Allow", "Action": "sqs:GetQueueUrl", "Resource": "*"})
        if "s3:DeleteObject" in actions:
            out.append(
                {
                    "Effect": "Allow",
                    "Action": "s3:DeleteObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}",
                }
            )
    return out


def setup(url, template, uploads):
    import boto3
    from botocore.config import Config

    def client(service, creds=("testing", "testing", None)):
        return boto3.client(
            service,
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=creds[0],
            aws_secret_access_key=creds[1],
            aws_session_token=creds[2],
            config=Config(retries={"max_attempts": 1}),
        )

    s3, sqs, iam = client("s3"), client("sqs"), client("iam")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for key, path in uploads:
        with open(path, "rb") as f:
            s3.put_object(Bucket=BUCKET, Key=key, Body=f.read())
    dlq = sqs.create_queue(QueueName=QUEUES["ShardDeadLetterQueue"])["QueueUrl"]
    queue = sqs.create_queue(
        QueueName=QUEUES["ShardQueue"],
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": attribute("ShardDeadLetterQueue", "Arn"),
                    "maxReceiveCount": "5",
                }
            ),
        },
    )["QueueUrl"]
    iam.create_user(UserName="tester")
    assume = iam.create_policy(
        PolicyName="assume-any-role",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="tester", PolicyArn=assume)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    # moto matches the principal literally (the account root does not
                    # stand for its users there), so name the user.
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/tester"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    roles = dict(policies(template))
    roles["admin"] = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    for component, statements in roles.items():
        iam.create_role(RoleName=f"{NAME}-{component}", AssumeRolePolicyDocument=trust)
        iam.put_role_policy(
            RoleName=f"{NAME}-{component}",
            PolicyName="policy",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": for_moto(statements)}
            ),
        )
    key = iam.create_access_key(UserName="tester")["AccessKey"]
    # Unauthenticated requests run out after INITIAL_NO_AUTH_ACTION_COUNT: use them up
    # with dummy keys until one is refused, so that every request from here on is checked.
    for _ in range(5000):
        try:
            s3.list_buckets()
        except Exception:
            break
    else:
        raise SystemExit("moto never refused the dummy keys: is INITIAL_NO_AUTH_ACTION_COUNT set?")
    sts = client("sts", (key["AccessKeyId"], key["SecretAccessKey"], None))
    credentials = {}
    for component in roles:
        c = sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{NAME}-{component}",
            RoleSessionName=f"mcflow-{component}",
        )["Credentials"]
        credentials[component] = {
            "access_key_id": c["AccessKeyId"],
            "secret_access_key": c["SecretAccessKey"],
            "session_token": c["SessionToken"],
        }
    print(
        json.dumps(
            {
                "bucket": BUCKET,
                "queue_url": queue,
                "dead_letter_queue_url": dlq,
                "credentials": credentials,
            }
        )
    )


def main(argv):
    if len(argv) >= 3 and argv[1] == "policies":
        with open(argv[2]) as f:
            print(json.dumps(policies(json.load(f)), indent=1))
    elif len(argv) >= 4 and argv[1] == "setup":
        with open(argv[3]) as f:
            template = json.load(f)
        uploads = [a.split("=", 1) for a in argv[4:]]
        setup(argv[2], template, uploads)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
