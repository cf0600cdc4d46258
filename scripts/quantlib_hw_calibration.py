#!/usr/bin/env python3
"""Calibrates QuantLib's Hull-White model to ATM swaption normal volatilities: the
independent oracle for mcflow's `engine::calibration` (a test compares the two).

Usage: quantlib_hw_calibration.py < input.json
  input:  {"curve": [[years, zero_pct], ...], "quotes": [[expiry_years, tenor_years,
           normal_vol_bp], ...], "start": [mean_reversion, volatility]}
  output: {"mean_reversion": a, "volatility": sigma, "model_vols_bp": [...]} on stdout.

mcflow's conventions, set up in QuantLib: one continuously compounded zero curve, linear
in the zero rate, for discounting and forwarding; whole-year times (SimpleDayCounter, no
calendar); annual fixed payments; the swap starts at expiry (no settlement lag);
JamshidianSwaptionEngine; RelativePriceError; Levenberg-Marquardt. The one convention
QuantLib fixes differently is the time in Bachelier's formula for the market price (its
SwaptionHelper uses Actual/365 Fixed from today to expiry): each quote's volatility is
rescaled by sqrt(T / T_act365) so that the market prices are mcflow's.
"""

import json
import sys

import QuantLib as ql


def main() -> None:
    spec = json.load(sys.stdin)
    today = ql.Date(15, ql.January, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.SimpleDayCounter()
    cal = ql.NullCalendar()
    points = spec["curve"]
    # The first knot at today: mcflow's curve is flat before its first tenor.
    dates = [today] + [today + ql.Period(int(round(t * 12)), ql.Months) for t, _ in points]
    rates = [points[0][1] / 100.0] + [z / 100.0 for _, z in points]
    curve = ql.ZeroCurve(dates, rates, dc, cal, ql.Linear(), ql.Continuous)
    handle = ql.YieldTermStructureHandle(curve)
    index = ql.IborIndex(
        "flat", ql.Period(1, ql.Years), 0, ql.USDCurrency(), cal, ql.Unadjusted, False, dc, handle
    )
    a0, s0 = spec["start"]
    model = ql.HullWhite(handle, a0, s0)
    engine = ql.JamshidianSwaptionEngine(model)
    act365 = ql.Actual365Fixed()
    helpers = []
    for expiry, tenor, vol_bp in spec["quotes"]:
        months = int(round(expiry * 12))
        exercise = cal.advance(today, ql.Period(months, ql.Months))
        t_ql = act365.yearFraction(today, exercise)
        vol = vol_bp / 10_000.0 * (expiry / t_ql) ** 0.5
        helper = ql.SwaptionHelper(
            ql.Period(months, ql.Months),
            ql.Period(int(tenor), ql.Years),
            ql.QuoteHandle(ql.SimpleQuote(vol)),
            index,
            ql.Period(1, ql.Years),
            dc,
            dc,
            handle,
            ql.BlackCalibrationHelper.RelativePriceError,
            ql.nullDouble(),
            1.0,
            ql.Normal,
        )
        helper.setPricingEngine(engine)
        helpers.append(helper)
    model.calibrate(
        helpers,
        ql.LevenbergMarquardt(1e-12, 1e-12, 1e-12),
        ql.EndCriteria(10_000, 1_000, 1e-14, 1e-14, 1e-14),
    )
    a, sigma = model.params()
    print(
        json.dumps(
            {
                "mean_reversion": a,
                "volatility": sigma,
                "market_values": [h.marketValue() for h in helpers],
                "model_values": [h.modelValue() for h in helpers],
            }
        )
    )


if __name__ == "__main__":
    main()
