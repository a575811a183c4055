"""Lab 00 "Welcome": the environment works and Fixit knows your phone number."""
from __future__ import annotations

import importlib.metadata
import re
import shutil
import sys

from checks.runner import Context, check_for
from gluelab import config
from gluelab.cloud import process
# The rule the Twilio stand-in applies to handset numbers, so a number that passes here works there.
from gluelab.cloud.twilio_standin import E164

MIN_FREE_BYTES = 1 << 30


@check_for("00", "Python is 3.11 or newer",
           hint="Install Python 3.11 or newer, then run `make clean lab PYTHON=python3.11`.")
def python_version(ctx: Context) -> str:
    assert sys.version_info >= (3, 11), f"this kernel runs Python {sys.version.split()[0]}"
    return ""


@check_for("00", "Every package the workshop needs is installed",
           hint="Run `make lab` again from the repository folder: it installs what is missing.")
def packages(ctx: Context) -> str:
    missing = []
    for requirement in importlib.metadata.requires("gluelab") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    assert not missing, f"missing: {', '.join(missing)}"
    return ""


@check_for("00", "The cloud you work against answers",
           hint="For the local cloud, run `gluelab cloud logs` in a terminal and fix what it names; "
                "for AWS, check your credentials with `aws sts get-caller-identity`.")
def cloud_answers(ctx: Context) -> str:
    if ctx.settings.is_local:
        process.connect()
        return "the local cloud is up"
    account = config.client("sts").get_caller_identity()["Account"]
    return f"AWS account {account}"


@check_for("00", "At least 1 GB of disk space is free",
           hint="Free some disk space: the workshop's builds and local cloud state need it.")
def disk_space(ctx: Context) -> str:
    free = shutil.disk_usage(config.ROOT).free
    assert free >= MIN_FREE_BYTES, f"only {free / MIN_FREE_BYTES:.1f} GB free"
    return ""


@check_for("00", "MY_PHONE is your handset number in E.164 format, now saved for later labs",
           hint='Set MY_PHONE to a "+", your country code and your number, with no spaces, '
                'e.g. MY_PHONE = "+393331234567"; run that cell, then this one.')
def my_phone(ctx: Context) -> str:
    # From the command line there is no notebook: check the number saved earlier.
    phone = ctx.values.get("MY_PHONE", config.saved_setting("my_phone"))
    assert phone is not None, "no MY_PHONE was given and no number is saved yet"
    assert isinstance(phone, str), f"MY_PHONE is {phone!r}, not a text in quotes"
    assert E164.fullmatch(phone), f"{phone!r} is not in E.164 format"
    config.save_setting("my_phone", phone)
    return phone


@check_for("00", "The cost estimator reproduces the slides' monthly figures",
           hint="gluelab/cost.py no longer gives the slides' figures: undo your edits to it "
                "(`git checkout gluelab/cost.py`) or run `make lab` again.")
def slides_costs(ctx: Context) -> str:
    from gluelab import cost
    breakdown = cost.slides_example().breakdown
    computed = {(line.service, line.item): line.usd for line in breakdown.lines}
    # The slides' one arithmetic slip: 21,290 GB-s a day x 31 days x 0.00001667 is 11.002, not
    # the 10.964 printed; every other line matches what the slides printed, to the cent.
    slip = ("Lambda", "compute")
    off = [f"{service} {item}: {computed[(service, item)]:.3f} instead of {printed:.3f}"
           for (service, item), printed in cost.SLIDES_FIGURES.items()
           if (service, item) != slip and abs(computed[(service, item)] - printed) > 0.01]
    assert not off, "; ".join(off)
    assert abs(computed[slip] - 21_290 * 31 * 0.00001667) < 0.01, (
        f"Lambda compute is {computed[slip]:.3f}, not the slides' own formula's 11.002")
    for service in ("API Gateway", "DynamoDB"):
        assert abs(breakdown.subtotal(service) - cost.SLIDES_TOTALS[service]) <= 0.01, (
            f"{service} costs {breakdown.subtotal(service):.3f}, the slides say "
            f"{cost.SLIDES_TOTALS[service]:.3f}")
    return (f"API Gateway {breakdown.subtotal('API Gateway'):.2f}, Lambda "
            f"{breakdown.subtotal('Lambda'):.2f}, DynamoDB {breakdown.subtotal('DynamoDB'):.2f}, "
            f"total {breakdown.total:.2f} USD/month")
