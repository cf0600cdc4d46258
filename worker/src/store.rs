//! Where runs keep their files: one blocking interface over a local directory and an S3
//! bucket prefix, so that the worker, the reducer and the CLI write the same keys whether
//! they run on a laptop or in the cloud.
//!
//! Keys are `/`-separated paths relative to the store's root. Every write is all-or-
//! nothing (a temporary file renamed into place locally; a single PUT on S3), and
//! [`Store::put_if_absent`] is the atomic "create only if absent" that the exactly-once
//! reduce claim relies on (`If-None-Match: *` on S3, a hard link locally).

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use crate::aws::Aws;

/// Why a store operation failed. Every variant names the object it was about.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{location} is not a valid store location: {message}")]
    Location { location: String, message: String },
    #[error("cannot {op} {location}: {message}")]
    Failed {
        op: &'static str,
        location: String,
        message: String,
    },
    #[error("{location} does not exist")]
    NotFound { location: String },
    #[error(transparent)]
    Aws(#[from] crate::aws_failure::AwsFailure),
}

/// The `Content-Type` an object is stored with, for the documents people open from the
/// bucket (the console, a presigned URL): a page opens as a page instead of downloading.
/// Tables and markers need none.
fn content_type(key: &str) -> Option<&'static str> {
    let extension = key.rsplit_once('.')?.1;
    match extension {
        "html" => Some("text/html; charset=utf-8"),
        "svg" => Some("image/svg+xml"),
        "json" => Some("application/json"),
        _ => None,
    }
}

/// Which bytes of an input object a run reads, recorded in its manifest when it is
/// submitted: the S3 `VersionId` in a versioned bucket (reads get exactly that version,
/// whatever has been written since), else the ETag (reads fail clearly if the object
/// has changed). Empty for local files.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pin {
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

impl Pin {
    /// The `If-Match` a read sends: only without a version id, which already names the
    /// bytes exactly.
    fn if_match(&self) -> Option<String> {
        match self.version_id {
            Some(_) => None,
            None => self.etag.clone(),
        }
    }
}

/// The version of an object a [`Store::put_if_version`] expects to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(String);

/// A local directory or `s3://bucket/prefix`.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
}

enum Backend {
    Local(PathBuf),
    S3 {
        aws: Arc<Aws>,
        client: aws_sdk_s3::Client,
        bucket: String,
        /// Empty, or ends with `/`.
        prefix: String,
    },
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Store({})", self.root())
    }
}

/// `s3://bucket/some/key` split into bucket and key (the key may be empty).
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Some((bucket, key))
}

/// Whether a location names S3 rather than a local path.
pub fn is_s3(location: &str) -> bool {
    location.starts_with("s3://")
}

impl Store {
    /// A store rooted at a local directory (created on first write).
    pub fn local(root: impl Into<PathBuf>) -> Store {
        Store {
            backend: Arc::new(Backend::Local(root.into())),
        }
    }

    /// A store rooted at `s3://bucket/prefix`.
    pub fn s3(aws: Arc<Aws>, bucket: &str, prefix: &str) -> Result<Store, StoreError> {
        let location = format!("s3://{bucket}/{prefix}");
        // S3 bucket naming rules, the part that matters for a typo: 3-63 characters of
        // lower-case letters, digits, dots and hyphens.
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid_bucket {
            return Err(StoreError::Location {
                location,
                message: format!("{bucket:?} is not a valid S3 bucket name"),
            });
        }
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        Ok(Store {
            backend: Arc::new(Backend::S3 {
                client: aws.s3(),
                aws,
                bucket: bucket.to_string(),
                prefix,
            }),
        })
    }

    /// Opens `s3://bucket/prefix` (with `aws`, built on first need) or a local directory.
    pub fn open(location: &str, aws: impl FnOnce() -> Arc<Aws>) -> Result<Store, StoreError> {
        match parse_s3_uri(location) {
            Some((bucket, prefix)) => Store::s3(aws(), bucket, prefix),
            // A store is a folder (created when missing); a file there is a mistyped
            // location, refused before any write can fail under it.
            None if Path::new(location).is_file() => Err(StoreError::Location {
                location: location.to_string(),
                message:
                    "it is a file; name a directory (created if missing) or s3://bucket/prefix"
                        .to_string(),
            }),
            None => Ok(Store::local(location)),
        }
    }

    /// The store's root as a user would type it.
    pub fn root(&self) -> String {
        match &*self.backend {
            Backend::Local(root) => root.display().to_string(),
            Backend::S3 { bucket, prefix, .. } => {
                format!("s3://{bucket}/{}", prefix.trim_end_matches('/'))
            }
        }
    }

    /// The AWS configuration behind an S3 store.
    pub fn aws(&self) -> Option<Arc<Aws>> {
        match &*self.backend {
            Backend::Local(_) => None,
            Backend::S3 { aws, .. } => Some(aws.clone()),
        }
    }

    /// Where `key` lives, for messages: a path or an `s3://` URI.
    pub fn describe(&self, key: &str) -> String {
        match &*self.backend {
            Backend::Local(root) => root.join(key).display().to_string(),
            Backend::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}{key}"),
        }
    }

    fn failed(&self, op: &'static str, key: &str, message: impl ToString) -> StoreError {
        StoreError::Failed {
            op,
            location: self.describe(key),
            message: message.to_string(),
        }
    }

    fn aws_failed<E, R>(
        &self,
        operation: &'static str,
        key: &str,
        e: &aws_sdk_s3::error::SdkError<E, R>,
    ) -> StoreError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        StoreError::Aws(crate::aws_failure::AwsFailure::new(
            "S3",
            operation,
            self.describe(key),
            e,
        ))
    }

    fn check_key(&self, key: &str) -> Result<(), StoreError> {
        let bad = key.is_empty()
            || key.starts_with('/')
            || key.split('/').any(|part| part == ".." || part == ".");
        if bad {
            return Err(StoreError::Location {
                location: self.describe(key),
                message: "keys are relative paths without `.` or `..` parts".into(),
            });
        }
        Ok(())
    }

    /// Writes `bytes` at `key`, replacing any earlier object all at once.
    pub fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.check_key(key)?;
        match &*self.backend {
            Backend::Local(root) => crate::atomic::write_bytes_atomically(&root.join(key), &bytes)
                .map_err(|e| self.failed("write", key, e)),
            Backend::S3 {
                aws,
                client,
                bucket,
                prefix,
            } => aws
                .block_on(
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(format!("{prefix}{key}"))
                        .set_content_type(content_type(key).map(str::to_string))
                        .body(ByteStream::from(bytes))
                        .send(),
                )
                .map(|_| ())
                .map_err(|e| self.aws_failed("PutObject", key, &e)),
        }
    }

    /// Writes `bytes` at `key` only if no object is there yet, atomically: of several
    /// concurrent callers exactly one gets `true`.
    pub fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StoreError> {
        self.check_key(key)?;
        match &*self.backend {
            Backend::Local(root) => {
                let path = root.join(key);
                let dir = path.parent().unwrap_or(root);
                let fail = |e: std::io::Error| self.failed("create", key, e);
                std::fs::create_dir_all(dir).map_err(fail)?;
                let tmp = tempfile::Builder::new()
                    .prefix(".mcflow-tmp-")
                    .tempfile_in(dir)
                    .map_err(fail)?;
                std::fs::write(tmp.path(), &bytes).map_err(fail)?;
                // A hard link either creates the name with the complete content or fails
                // because the name exists: no reader sees a partial claim.
                match std::fs::hard_link(tmp.path(), &path) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(fail(e)),
                }
            }
            Backend::S3 { .. } => self.put_conditionally(key, bytes, None),
        }
    }

    /// The object at `key` with the [`Pin`] that names exactly these bytes later, or
    /// `None` when there is none. Locally there are no versions: the pin is empty.
    pub fn get_with_pin(&self, key: &str) -> Result<Option<(Bytes, Pin)>, StoreError> {
        self.read(key, None)
    }

    fn changed(&self, key: &str, pin: Option<&Pin>) -> StoreError {
        self.failed(
            "read",
            key,
            format!(
                "the object changed after the run pinned it (ETag {}); an unversioned bucket keeps only the latest bytes, so resubmit the run (or enable versioning)",
                pin.and_then(|p| p.etag.as_deref()).unwrap_or("?")
            ),
        )
    }

    /// The object at `key` with its version (the S3 ETag; locally, a digest of the
    /// bytes), for a later [`Store::put_if_version`]; `None` when there is none.
    pub fn get_versioned(&self, key: &str) -> Result<Option<(Bytes, Version)>, StoreError> {
        let local = matches!(&*self.backend, Backend::Local(_));
        Ok(self.read(key, None)?.map(|(bytes, pin)| {
            let version = if local {
                crate::report::sha256_bytes(&bytes)
            } else {
                pin.etag.unwrap_or_default()
            };
            (bytes, Version(version))
        }))
    }

    /// Compare-and-swap: writes `bytes` at `key` only if the object is still at
    /// `expected` (`None`: only if there is no object), atomically. `false` means another
    /// writer got there first; read again and retry. S3 does this with `If-Match` (or
    /// `If-None-Match: *`); locally, under an exclusive lock on a sidecar file.
    pub fn put_if_version(
        &self,
        key: &str,
        bytes: Vec<u8>,
        expected: Option<&Version>,
    ) -> Result<bool, StoreError> {
        self.check_key(key)?;
        let Some(expected) = expected else {
            return self.put_if_absent(key, bytes);
        };
        match &*self.backend {
            Backend::Local(root) => {
                let path = root.join(key);
                let fail = |e: std::io::Error| self.failed("update", key, e);
                let dir = path.parent().unwrap_or(root);
                std::fs::create_dir_all(dir).map_err(fail)?;
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                // The lock file carries the temporary prefix so that listings skip it.
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(dir.join(format!(".mcflow-tmp-lock-{name}")))
                    .map_err(fail)?;
                lock.lock().map_err(fail)?;
                let current = match std::fs::read(&path) {
                    Ok(b) => Some(Version(crate::report::sha256_bytes(&b))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(fail(e)),
                };
                if current.as_ref() != Some(expected) {
                    return Ok(false);
                }
                crate::atomic::write_bytes_atomically(&path, &bytes)
                    .map_err(|e| self.failed("update", key, e))?;
                Ok(true)
            }
            Backend::S3 { .. } => self.put_conditionally(key, bytes, Some(expected)),
        }
    }

    /// S3's conditional PUT, for both atomic writes: create-only (`If-None-Match: *`)
    /// without `expected`, compare-and-swap (`If-Match` on its ETag) with it. `false`
    /// means another writer got there first.
    fn put_conditionally(
        &self,
        key: &str,
        bytes: Vec<u8>,
        expected: Option<&Version>,
    ) -> Result<bool, StoreError> {
        let Backend::S3 {
            aws,
            client,
            bucket,
            prefix,
        } = &*self.backend
        else {
            unreachable!("only S3 stores write conditionally over HTTP");
        };
        let sent = aws.block_on(
            client
                .put_object()
                .bucket(bucket)
                .key(format!("{prefix}{key}"))
                .set_if_none_match(expected.is_none().then(|| "*".to_string()))
                .set_if_match(expected.map(|v| v.0.clone()))
                .body(ByteStream::from(bytes))
                .send(),
        );
        match sent {
            Ok(_) => Ok(true),
            // 412: the key exists (create-only) or changed (swap). 409: a concurrent
            // conditional write to the same key is in flight; one of the writers wins, and
            // it is not us. 404 on a swap: the object is gone.
            Err(e) => match http_status(&e) {
                Some(409 | 412) => Ok(false),
                Some(404) if expected.is_some() => Ok(false),
                _ => Err(self.aws_failed("PutObject", key, &e)),
            },
        }
    }

    /// The object at `key`, or `None` when there is none.
    pub fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        self.get_pinned(key, None)
    }

    /// The object at `key` as `pin` names it (see [`Pin`]), or `None` when there is none.
    pub fn get_pinned(&self, key: &str, pin: Option<&Pin>) -> Result<Option<Bytes>, StoreError> {
        Ok(self.read(key, pin)?.map(|(bytes, _)| bytes))
    }

    /// Every whole-object read: the bytes of `key` as `pin` names it, with the pin of
    /// what was read (empty locally), or `None` when there is no object.
    fn read(&self, key: &str, pin: Option<&Pin>) -> Result<Option<(Bytes, Pin)>, StoreError> {
        self.check_key(key)?;
        match &*self.backend {
            Backend::Local(root) => match std::fs::read(root.join(key)) {
                Ok(b) => Ok(Some((Bytes::from(b), Pin::default()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.failed("read", key, e)),
            },
            Backend::S3 {
                aws,
                client,
                bucket,
                prefix,
            } => aws.block_on(async {
                let sent = client
                    .get_object()
                    .bucket(bucket)
                    .key(format!("{prefix}{key}"))
                    .set_version_id(pin.and_then(|p| p.version_id.clone()))
                    .set_if_match(pin.and_then(Pin::if_match))
                    .send()
                    .await;
                match sent {
                    Ok(out) => {
                        let read_pin = Pin {
                            // An unversioned bucket answers "null" (or nothing).
                            version_id: out
                                .version_id()
                                .filter(|v| *v != "null")
                                .map(str::to_string),
                            etag: out.e_tag().map(str::to_string),
                        };
                        let body = out
                            .body
                            .collect()
                            .await
                            .map_err(|e| self.failed("read", key, e))?;
                        Ok(Some((body.into_bytes(), read_pin)))
                    }
                    Err(e) if http_status(&e) == Some(404) => Ok(None),
                    Err(e) if http_status(&e) == Some(412) => Err(self.changed(key, pin)),
                    Err(e) => Err(self.aws_failed("GetObject", key, &e)),
                }
            }),
        }
    }

    /// The object at `key`; a missing object is an error.
    pub fn get_required(&self, key: &str) -> Result<Bytes, StoreError> {
        self.get(key)?.ok_or_else(|| StoreError::NotFound {
            location: self.describe(key),
        })
    }

    /// `length` bytes of `key` from `start`.
    pub fn get_range(&self, key: &str, start: u64, length: usize) -> Result<Bytes, StoreError> {
        self.get_range_pinned(key, None, start, length)
    }

    /// `length` bytes from `start` of `key` as `pin` names it.
    pub fn get_range_pinned(
        &self,
        key: &str,
        pin: Option<&Pin>,
        start: u64,
        length: usize,
    ) -> Result<Bytes, StoreError> {
        self.check_key(key)?;
        if length == 0 {
            return Ok(Bytes::new());
        }
        match &*self.backend {
            Backend::Local(root) => {
                let fail = |e: std::io::Error| self.failed("read", key, e);
                let mut file = std::fs::File::open(root.join(key)).map_err(fail)?;
                file.seek(SeekFrom::Start(start)).map_err(fail)?;
                let mut buf = vec![0; length];
                file.read_exact(&mut buf).map_err(fail)?;
                Ok(Bytes::from(buf))
            }
            Backend::S3 {
                aws,
                client,
                bucket,
                prefix,
            } => aws.block_on(async {
                let end = start + length as u64 - 1;
                let out = client
                    .get_object()
                    .bucket(bucket)
                    .key(format!("{prefix}{key}"))
                    .set_version_id(pin.and_then(|p| p.version_id.clone()))
                    .set_if_match(pin.and_then(Pin::if_match))
                    .range(format!("bytes={start}-{end}"))
                    .send()
                    .await
                    .map_err(|e| match http_status(&e) {
                        Some(412) => self.changed(key, pin),
                        _ => self.aws_failed("GetObject", key, &e),
                    })?;
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.failed("read", key, e))?
                    .into_bytes();
                if bytes.len() != length {
                    return Err(self.failed(
                        "read",
                        key,
                        format!("asked for {length} bytes at {start}, got {}", bytes.len()),
                    ));
                }
                Ok(bytes)
            }),
        }
    }

    /// The size of `key` in bytes, or `None` when there is no such object.
    pub fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.size_pinned(key, None)
    }

    /// The size of `key` as `pin` names it, or `None` when there is no such object.
    pub fn size_pinned(&self, key: &str, pin: Option<&Pin>) -> Result<Option<u64>, StoreError> {
        self.check_key(key)?;
        match &*self.backend {
            Backend::Local(root) => match std::fs::metadata(root.join(key)) {
                Ok(m) if m.is_file() => Ok(Some(m.len())),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.failed("inspect", key, e)),
            },
            Backend::S3 {
                aws,
                client,
                bucket,
                prefix,
            } => {
                let sent = aws.block_on(
                    client
                        .head_object()
                        .bucket(bucket)
                        .key(format!("{prefix}{key}"))
                        .set_version_id(pin.and_then(|p| p.version_id.clone()))
                        .set_if_match(pin.and_then(Pin::if_match))
                        .send(),
                );
                match sent {
                    Ok(out) => Ok(Some(out.content_length.unwrap_or(0).max(0) as u64)),
                    Err(e) if http_status(&e) == Some(404) => Ok(None),
                    Err(e) if http_status(&e) == Some(412) => Err(self.changed(key, pin)),
                    Err(e) => Err(self.aws_failed("HeadObject", key, &e)),
                }
            }
        }
    }

    /// Removes the temporary files of interrupted writes (`.mcflow-tmp-*`) under the folder
    /// `prefix`, recursively, and returns how many there were. A process killed mid-write
    /// leaves them behind; readers never list them. S3 writes leave none.
    pub fn remove_temporaries(&self, prefix: &str) -> Result<usize, StoreError> {
        let Backend::Local(root) = &*self.backend else {
            return Ok(0);
        };
        let folder = prefix.trim_end_matches('/');
        let mut removed = 0;
        let mut stack = vec![root.join(folder)];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.failed("list", folder, e)),
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".mcflow-tmp-")
                {
                    match std::fs::remove_file(&path) {
                        Ok(()) => removed += 1,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(self.failed("delete", folder, e)),
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Every key under the folder `prefix` (recursively), sorted. Temporary files of
    /// writes in progress are not listed.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let folder = prefix.trim_end_matches('/');
        match &*self.backend {
            Backend::Local(root) => {
                let mut keys = Vec::new();
                let start = if folder.is_empty() {
                    root.clone()
                } else {
                    root.join(folder)
                };
                let mut stack = vec![start];
                while let Some(dir) = stack.pop() {
                    let entries = match std::fs::read_dir(&dir) {
                        Ok(e) => e,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(self.failed("list", folder, e)),
                    };
                    for entry in entries {
                        let entry = entry.map_err(|e| self.failed("list", folder, e))?;
                        let path = entry.path();
                        let kind = entry
                            .file_type()
                            .map_err(|e| self.failed("list", folder, e))?;
                        if kind.is_dir() {
                            stack.push(path);
                        } else if !entry
                            .file_name()
                            .to_string_lossy()
                            .starts_with(".mcflow-tmp-")
                        {
                            let rel = path.strip_prefix(root).unwrap_or(&path);
                            keys.push(
                                rel.components()
                                    .map(|c| c.as_os_str().to_string_lossy())
                                    .collect::<Vec<_>>()
                                    .join("/"),
                            );
                        }
                    }
                }
                keys.sort();
                Ok(keys)
            }
            Backend::S3 {
                aws,
                client,
                bucket,
                prefix: root,
            } => aws.block_on(async {
                let full = if folder.is_empty() {
                    root.clone()
                } else {
                    format!("{root}{folder}/")
                };
                let mut keys = Vec::new();
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(&full)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| self.aws_failed("ListObjectsV2", folder, &e))?;
                    for object in page.contents() {
                        if let Some(k) = object.key().and_then(|k| k.strip_prefix(root.as_str())) {
                            keys.push(k.to_string());
                        }
                    }
                }
                keys.sort();
                Ok(keys)
            }),
        }
    }

    /// The names of the folders directly under `prefix` (one `ListObjectsV2` page per
    /// 1,000 folders on S3, with a delimiter), sorted.
    pub fn list_folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let folder = prefix.trim_end_matches('/');
        match &*self.backend {
            Backend::Local(root) => {
                let entries = match std::fs::read_dir(root.join(folder)) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(self.failed("list", folder, e)),
                };
                let mut names = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|e| self.failed("list", folder, e))?;
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        names.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
                names.sort();
                Ok(names)
            }
            Backend::S3 {
                aws,
                client,
                bucket,
                prefix: root,
            } => aws.block_on(async {
                let full = format!("{root}{folder}/");
                let mut names = Vec::new();
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(&full)
                    .delimiter("/")
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| self.aws_failed("ListObjectsV2", folder, &e))?;
                    for p in page.common_prefixes() {
                        if let Some(name) = p
                            .prefix()
                            .and_then(|k| k.strip_prefix(full.as_str()))
                            .map(|k| k.trim_end_matches('/'))
                        {
                            names.push(name.to_string());
                        }
                    }
                }
                names.sort();
                Ok(names)
            }),
        }
    }

    /// Deletes `key`; deleting a missing key is not an error.
    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check_key(key)?;
        match &*self.backend {
            Backend::Local(root) => match std::fs::remove_file(root.join(key)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.failed("delete", key, e)),
            },
            Backend::S3 {
                aws,
                client,
                bucket,
                prefix,
            } => aws
                .block_on(
                    client
                        .delete_object()
                        .bucket(bucket)
                        .key(format!("{prefix}{key}"))
                        .send(),
                )
                .map(|_| ())
                .map_err(|e| self.aws_failed("DeleteObject", key, &e)),
        }
    }

    /// Deletes everything under the folder `prefix`.
    pub fn delete_folder(&self, prefix: &str) -> Result<(), StoreError> {
        let folder = prefix.trim_end_matches('/');
        self.check_key(folder)?;
        match &*self.backend {
            Backend::Local(root) => match std::fs::remove_dir_all(root.join(folder)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.failed("delete", folder, e)),
            },
            Backend::S3 {
                aws,
                client,
                bucket,
                prefix,
            } => {
                use aws_sdk_s3::types::{Delete, ObjectIdentifier};
                // DeleteObjects takes at most 1,000 keys per request.
                for batch in self.list(folder)?.chunks(1000) {
                    let objects = batch
                        .iter()
                        .map(|k| {
                            ObjectIdentifier::builder()
                                .key(format!("{prefix}{k}"))
                                .build()
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| self.failed("delete", folder, e))?;
                    let delete = Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .map_err(|e| self.failed("delete", folder, e))?;
                    let out = aws
                        .block_on(client.delete_objects().bucket(bucket).delete(delete).send())
                        .map_err(|e| self.aws_failed("DeleteObjects", folder, &e))?;
                    if let Some(e) = out.errors().first() {
                        return Err(self.failed(
                            "delete",
                            e.key().unwrap_or(folder),
                            format!(
                                "{} ({} of {} keys not deleted)",
                                e.message().unwrap_or("no message"),
                                out.errors().len(),
                                batch.len()
                            ),
                        ));
                    }
                }
                Ok(())
            }
        }
    }
}

/// The HTTP status of a failed AWS call (S3 or SQS), when the service answered at all.
pub fn http_status<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_store_round_trips_lists_and_claims_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::local(dir.path());
        store.put("a/b/one.txt", b"1".to_vec()).expect("put");
        store.put("a/two.txt", b"22".to_vec()).expect("put");
        store.put("c.txt", b"3".to_vec()).expect("put");
        assert_eq!(
            store.list("a").expect("list"),
            vec!["a/b/one.txt".to_string(), "a/two.txt".to_string()]
        );
        assert_eq!(store.list("missing/").expect("list"), Vec::<String>::new());
        assert_eq!(
            store.get("a/two.txt").expect("get").as_deref(),
            Some(&b"22"[..])
        );
        assert_eq!(store.get("nope").expect("get"), None);
        assert_eq!(store.size("a/two.txt").expect("size"), Some(2));
        assert_eq!(
            store.get_range("a/two.txt", 1, 1).expect("range").as_ref(),
            b"2"
        );
        assert!(store.put_if_absent("lock", b"me".to_vec()).expect("claim"));
        assert!(!store.put_if_absent("lock", b"you".to_vec()).expect("claim"));
        assert_eq!(store.get("lock").expect("get").as_deref(), Some(&b"me"[..]));
        assert_eq!(store.list_folders("").expect("folders"), vec!["a"]);
        assert_eq!(store.list_folders("a").expect("folders"), vec!["b"]);
        store.delete_folder("a").expect("delete");
        assert_eq!(store.list("").expect("list"), vec!["c.txt", "lock"]);
        let e = store.put("../escape", vec![]).expect_err("bad key");
        assert!(e.to_string().contains("relative paths"), "{e}");
    }

    #[test]
    fn local_compare_and_swap_refuses_a_stale_version() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::local(dir.path());
        assert_eq!(store.get_versioned("p/c.json").expect("get"), None);
        assert!(
            store
                .put_if_version("p/c.json", b"1".to_vec(), None)
                .expect("create")
        );
        assert!(
            !store
                .put_if_version("p/c.json", b"x".to_vec(), None)
                .expect("exists")
        );
        let (_, v1) = store.get_versioned("p/c.json").expect("get").expect("some");
        assert!(
            store
                .put_if_version("p/c.json", b"2".to_vec(), Some(&v1))
                .expect("swap")
        );
        assert!(
            !store
                .put_if_version("p/c.json", b"3".to_vec(), Some(&v1))
                .expect("stale")
        );
        assert_eq!(
            store.get("p/c.json").expect("get").as_deref(),
            Some(&b"2"[..])
        );
        assert_eq!(store.list("p").expect("list"), vec!["p/c.json"]);
    }

    #[test]
    fn parses_s3_uris() {
        assert_eq!(
            parse_s3_uri("s3://b/x/y.parquet"),
            Some(("b", "x/y.parquet"))
        );
        assert_eq!(parse_s3_uri("s3://b"), Some(("b", "")));
        assert_eq!(parse_s3_uri("data/x"), None);
    }
}
