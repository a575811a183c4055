"""What the app costs: an estimator with dated public prices, the 2018 slides' worked example,
and a ledger of what actually ran in the local cloud, projected to N reports a day.

Prices are named, dated constants. `PRICES_2025` are AWS list prices for us-east-1 as known in
June 2025 (aws.amazon.com/<service>/pricing); `PRICES_2018_SLIDES` are the figures printed in the
2018 workshop slides (eu-west-1). Re-check the pages before quoting any figure to a customer.
AWS bills data transfer and storage per GB of 2^30 bytes, so GB here means 2^30 bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gluelab import executions, graph, logs

GB = 1024 ** 3
MILLION = 1_000_000


@dataclass(frozen=True)
class Prices:
    name: str
    source: str
    api_per_million: float                 # REST API requests, first tier
    api_cache_per_hour: dict               # cache size GB -> USD per hour
    transfer_out_per_gb: float             # to the internet, first 10 TB tier
    transfer_out_free_gb: float            # per month, free tier
    lambda_per_gb_second: float            # x86
    lambda_per_million: float
    lambda_billing_step_ms: int
    lambda_free_gb_seconds: float
    lambda_free_requests: float
    dynamodb_storage_per_gb_month: float
    dynamodb_storage_free_gb: float
    dynamodb_wcu_hour: float               # provisioned, per WCU per hour
    dynamodb_rcu_hour: float
    dynamodb_free_wcu: float
    dynamodb_free_rcu: float
    dynamodb_per_million_writes: float | None   # on-demand
    dynamodb_per_million_reads: float | None
    sfn_per_1000_transitions: float | None      # Standard workflows
    sfn_free_transitions: float


PRICES_2025 = Prices(
    name="AWS list prices, us-east-1, June 2025",
    source="aws.amazon.com/api-gateway|lambda|dynamodb|step-functions/pricing, checked June 2025; "
           "DynamoDB on-demand after the 1 Nov 2024 cut; transfer free tier 100 GB/month "
           "(aggregated across services since Dec 2021)",
    api_per_million=3.50,
    api_cache_per_hour={0.5: 0.020, 1.6: 0.038, 6.1: 0.200, 13.5: 0.250, 28.4: 0.500},
    transfer_out_per_gb=0.09, transfer_out_free_gb=100,
    lambda_per_gb_second=0.0000166667, lambda_per_million=0.20, lambda_billing_step_ms=1,
    lambda_free_gb_seconds=400_000, lambda_free_requests=1_000_000,
    dynamodb_storage_per_gb_month=0.25, dynamodb_storage_free_gb=25,
    dynamodb_wcu_hour=0.00065, dynamodb_rcu_hour=0.00013,
    dynamodb_free_wcu=25, dynamodb_free_rcu=25,
    dynamodb_per_million_writes=0.625, dynamodb_per_million_reads=0.125,
    sfn_per_1000_transitions=0.025, sfn_free_transitions=4_000,
)

PRICES_2018_SLIDES = Prices(
    name="2018 workshop slides, eu-west-1",
    source="'Serverless - Costs - use case' slides (Incontro DevOps Italia 2018); Lambda billed in "
           "100 ms steps then; DynamoDB had no on-demand price in the slides; Step Functions is not "
           "in the slides (its 2018 list price, 0.025 USD per 1,000 transitions, is used)",
    api_per_million=3.50,
    api_cache_per_hour={0.5: 0.020, 1.6: 0.038, 6.1: 0.200},
    transfer_out_per_gb=0.09, transfer_out_free_gb=1,
    lambda_per_gb_second=0.00001667, lambda_per_million=0.20, lambda_billing_step_ms=100,
    lambda_free_gb_seconds=400_000, lambda_free_requests=1_000_000,
    dynamodb_storage_per_gb_month=0.283, dynamodb_storage_free_gb=25,
    dynamodb_wcu_hour=0.00735 / 10, dynamodb_rcu_hour=0.00735 / 50,
    dynamodb_free_wcu=25, dynamodb_free_rcu=25,
    dynamodb_per_million_writes=None, dynamodb_per_million_reads=None,
    sfn_per_1000_transitions=0.025, sfn_free_transitions=4_000,
)

PRICE_SETS = {"2025": PRICES_2025, "2018-slides": PRICES_2018_SLIDES}

# Twilio US long-code SMS, per segment, inbound and outbound alike; carrier fees (e.g. AT&T
# ~0.0035 USD) come on top. twilio.com/en-us/sms/pricing/us, as published in 2025.
TWILIO_SMS_US_2025 = 0.0083


# ---------------------------------------------------------------------------------------------
# Line items (monthly quantities in, USD out)


@dataclass
class Line:
    service: str
    item: str
    quantity: str
    usd: float


def _free(amount: float, free: float, free_tier: bool) -> float:
    return max(0.0, amount - free) if free_tier else amount


def api_requests(requests: float, p: Prices) -> Line:
    return Line("API Gateway", "requests", f"{requests:,.0f} requests",
                requests / MILLION * p.api_per_million)


def api_cache(cache_gb: float, hours: float, p: Prices) -> Line:
    if cache_gb not in p.api_cache_per_hour:
        sizes = ", ".join(str(s) for s in sorted(p.api_cache_per_hour))
        raise ValueError(f"API Gateway has no {cache_gb} GB cache; choose one of {sizes} GB.")
    return Line("API Gateway", f"cache {cache_gb} GB", f"{hours:,.0f} h",
                hours * p.api_cache_per_hour[cache_gb])


def transfer_out(service: str, gb: float, p: Prices, free_tier: bool) -> Line:
    billed = _free(gb, p.transfer_out_free_gb, free_tier)
    return Line(service, "data transfer out", f"{gb:,.4f} GB", billed * p.transfer_out_per_gb)


def billed_ms(duration_ms: float, p: Prices) -> float:
    """Lambda rounds each invocation's duration up to the billing step."""
    return math.ceil(duration_ms / p.lambda_billing_step_ms) * p.lambda_billing_step_ms


def lambda_requests(requests: float, p: Prices, free_tier: bool) -> Line:
    billed = _free(requests, p.lambda_free_requests, free_tier)
    return Line("Lambda", "requests", f"{requests:,.0f} requests", billed / MILLION * p.lambda_per_million)


def lambda_compute(gb_seconds: float, p: Prices, free_tier: bool) -> Line:
    billed = _free(gb_seconds, p.lambda_free_gb_seconds, free_tier)
    return Line("Lambda", "compute", f"{gb_seconds:,.1f} GB-s", billed * p.lambda_per_gb_second)


def lambda_gb_seconds(invocations: float, duration_ms: float, memory_mb: float) -> float:
    return invocations * duration_ms / 1000 * memory_mb / 1024


def dynamodb_provisioned(rcu: float, wcu: float, hours: float, p: Prices, free_tier: bool) -> list[Line]:
    return [Line("DynamoDB", "read capacity", f"{rcu:g} RCU x {hours:,.0f} h",
                 _free(rcu, p.dynamodb_free_rcu, free_tier) * hours * p.dynamodb_rcu_hour),
            Line("DynamoDB", "write capacity", f"{wcu:g} WCU x {hours:,.0f} h",
                 _free(wcu, p.dynamodb_free_wcu, free_tier) * hours * p.dynamodb_wcu_hour)]


def dynamodb_on_demand(reads: float, writes: float, p: Prices) -> list[Line]:
    if p.dynamodb_per_million_reads is None:
        raise ValueError(f"The price set '{p.name}' has no DynamoDB on-demand prices; "
                         "use provisioned capacity with it, or another price set.")
    return [Line("DynamoDB", "on-demand reads", f"{reads:,.0f} RRU",
                 reads / MILLION * p.dynamodb_per_million_reads),
            Line("DynamoDB", "on-demand writes", f"{writes:,.0f} WRU",
                 writes / MILLION * p.dynamodb_per_million_writes)]


def dynamodb_storage(gb: float, p: Prices, free_tier: bool) -> Line:
    return Line("DynamoDB", "storage", f"{gb:g} GB-month",
                _free(gb, p.dynamodb_storage_free_gb, free_tier) * p.dynamodb_storage_per_gb_month)


def sfn_transitions(transitions: float, p: Prices, free_tier: bool) -> Line:
    billed = _free(transitions, p.sfn_free_transitions, free_tier)
    return Line("Step Functions", "state transitions", f"{transitions:,.0f} transitions",
                billed / 1000 * p.sfn_per_1000_transitions)


def sms(messages: float, price: float = TWILIO_SMS_US_2025) -> Line:
    return Line("Twilio", "SMS segments (in + out)", f"{messages:,.0f} SMS", messages * price)


class Breakdown:
    """Line items with subtotals per service and a total; text table or HTML."""

    def __init__(self, lines: list[Line], title: str):
        self.lines, self.title = lines, title

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def subtotal(self, service: str) -> float:
        return sum(line.usd for line in self.lines if line.service == service)

    def table(self) -> executions.Table:
        rows = []
        for index, line in enumerate(self.lines):
            rows.append([line.service, line.item, line.quantity, f"{line.usd:,.3f}"])
            last_of_service = index + 1 == len(self.lines) or self.lines[index + 1].service != line.service
            if last_of_service and line.service != "other":
                rows.append([line.service, "subtotal", "", f"{self.subtotal(line.service):,.3f}"])
        rows.append(["total", "", "", f"{self.total:,.3f}"])
        return executions.Table(["service", "item", "quantity", "USD/month"], rows, self.title)

    def __str__(self) -> str:
        return str(self.table())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


# ---------------------------------------------------------------------------------------------
# The estimator


@dataclass
class Usage:
    """A month of traffic for the estimator. Per-request figures multiply requests_per_day."""
    requests_per_day: float
    days: float = 30
    response_bytes: float = 512
    api_cache_gb: float | None = None
    lambda_invocations_per_request: float = 1
    lambda_duration_ms: float = 100
    lambda_memory_mb: float = 128
    dynamodb_mode: str = "on-demand"  # or "provisioned"
    dynamodb_rcu: float = 0
    dynamodb_wcu: float = 0
    dynamodb_reads_per_request: float = 0
    dynamodb_writes_per_request: float = 0
    dynamodb_storage_gb: float = 0
    transitions_per_request: float = 0
    sms_per_request: float = 0
    fixed: dict = field(default_factory=dict)  # other monthly costs by name, e.g. {"search": 15}


def estimate(usage: Usage, prices: Prices = PRICES_2025, free_tier: bool = False,
             sms_price: float = TWILIO_SMS_US_2025) -> Breakdown:
    requests = usage.requests_per_day * usage.days
    hours = 24 * usage.days
    gb_out = requests * usage.response_bytes / GB
    invocations = requests * usage.lambda_invocations_per_request
    lines = [api_requests(requests, prices)]
    if usage.api_cache_gb:
        lines.append(api_cache(usage.api_cache_gb, hours, prices))
    lines.append(transfer_out("API Gateway", gb_out, prices, free_tier))
    lines.append(lambda_requests(invocations, prices, free_tier))
    lines.append(lambda_compute(lambda_gb_seconds(
        invocations, billed_ms(usage.lambda_duration_ms, prices), usage.lambda_memory_mb),
        prices, free_tier))
    if usage.dynamodb_mode == "provisioned":
        lines += dynamodb_provisioned(usage.dynamodb_rcu, usage.dynamodb_wcu, hours, prices, free_tier)
    elif usage.dynamodb_mode == "on-demand":
        lines += dynamodb_on_demand(requests * usage.dynamodb_reads_per_request,
                                    requests * usage.dynamodb_writes_per_request, prices)
    else:
        raise ValueError(f"dynamodb_mode is {usage.dynamodb_mode!r}; use 'on-demand' or 'provisioned'.")
    lines.append(dynamodb_storage(usage.dynamodb_storage_gb, prices, free_tier))
    if usage.transitions_per_request:
        lines.append(sfn_transitions(requests * usage.transitions_per_request, prices, free_tier))
    if usage.sms_per_request:
        lines.append(sms(requests * usage.sms_per_request, sms_price))
    lines += [Line("other", name, "flat", usd) for name, usd in sorted(usage.fixed.items())]
    free = "with free tier" if free_tier else "without free tier"
    return Breakdown(lines, f"Monthly estimate, {prices.name}, {free}")


# ---------------------------------------------------------------------------------------------
# The 2018 slides' worked example


# The slides' inputs: 48,618 successful calls a day, 31 days, 512-byte answers, 99.98th
# percentile of total time 0.876 s, 512 MB functions, 0.5 GB API cache, 50 RCU / 10 WCU, 2.5 GB.
SLIDES_CALLS_PER_DAY = 48_618
SLIDES_DAYS = 31
SLIDES_USAGE = Usage(requests_per_day=SLIDES_CALLS_PER_DAY, days=SLIDES_DAYS, response_bytes=512,
                     api_cache_gb=0.5, lambda_duration_ms=876, lambda_memory_mb=512,
                     dynamodb_mode="provisioned", dynamodb_rcu=50, dynamodb_wcu=10,
                     dynamodb_storage_gb=2.5, fixed={"ElasticSearch": 15, "other services": 10})
SLIDES_FIGURES = {  # as printed, USD per month
    ("API Gateway", "requests"): 5.275, ("API Gateway", "cache 0.5 GB"): 14.88,
    ("API Gateway", "data transfer out"): 0.064, ("Lambda", "compute"): 10.964,
    ("Lambda", "requests"): 0.30, ("DynamoDB", "storage"): 0.0,
    ("DynamoDB", "read capacity"): 5.47, ("DynamoDB", "write capacity"): 5.47,
    ("DynamoDB", "data transfer out"): 0.0, ("other", "ElasticSearch"): 15.0,
    ("other", "other services"): 10.0,
}
SLIDES_TOTALS = {"API Gateway": 20.219, "Lambda": 11.264, "DynamoDB": 10.94, "total": 67.423}


@dataclass
class SlidesExample:
    breakdown: Breakdown
    notes: list[str]

    def table(self) -> executions.Table:
        rows, off = [], set()
        for line in self.breakdown.lines:
            printed = SLIDES_FIGURES[(line.service, line.item)]
            if abs(round(line.usd, 3) - printed) > 0.01:
                off.add(len(rows))
            rows.append([line.service, line.item, line.quantity, f"{line.usd:.3f}", f"{printed:.3f}"])
        for service, printed in SLIDES_TOTALS.items():
            ours = self.breakdown.total if service == "total" else self.breakdown.subtotal(service)
            if abs(ours - printed) > 0.01:
                off.add(len(rows))
            rows.append([service, "subtotal" if service != "total" else "", "",
                         f"{ours:.3f}", f"{printed:.3f}"])
        return executions.Table(["service", "item", "quantity", "computed", "slides"], rows,
                                "The 2018 slides' monthly example, recomputed (USD/month)", off)

    def __str__(self) -> str:
        notes = "\n".join(f"- {note}" for note in self.notes)
        return f"{self.table()}\nWhere the slides' arithmetic is off, and why:\n{notes}\n"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html
        items = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        return self.table()._repr_html_() + f"<p>Where the slides' arithmetic is off:</p><ul>{items}</ul>"


def slides_example() -> SlidesExample:
    """The slides' example computed line by line with their inputs and prices, and what is off."""
    p = PRICES_2018_SLIDES
    calls = SLIDES_CALLS_PER_DAY * SLIDES_DAYS
    hours = 24 * SLIDES_DAYS
    gb_out = calls * 512 / GB
    # The slides count 99.98% of the calls and give each the 99.98th-percentile time, unrounded.
    invocations = SLIDES_CALLS_PER_DAY * 0.9998 * SLIDES_DAYS
    gb_s = lambda_gb_seconds(invocations, 876, 512)
    lines = [api_requests(calls, p), api_cache(0.5, hours, p),
             transfer_out("API Gateway", gb_out, p, free_tier=False),
             lambda_compute(gb_s, p, free_tier=False), lambda_requests(calls, p, free_tier=False),
             dynamodb_storage(2.5, p, free_tier=True),
             *dynamodb_provisioned(50, 10, hours, p, free_tier=False),
             transfer_out("DynamoDB", gb_out, p, free_tier=True),
             Line("other", "ElasticSearch", "flat", 15.0), Line("other", "other services", "flat", 10.0)]
    breakdown = Breakdown(lines, "2018 slides example")
    compute = lines[3].usd
    billed_2018 = lambda_compute(lambda_gb_seconds(invocations, billed_ms(876, p), 512), p, False).usd
    with_free = (lambda_compute(gb_s, p, True).usd + lambda_requests(calls, p, True).usd)
    notes = [
        f"API calls: the slide writes '1.507.158 * 3,75 USD' but the price it states is 3.50 USD per "
        f"million, and its result 5.275 is 1.507158 x 3.50; 3.75 would give "
        f"{calls / MILLION * 3.75:.3f}.",
        f"API transfer: {calls:,} x 512 bytes = {gb_out:.4f} GB (2^30 bytes), x 0.09 = "
        f"{gb_out * 0.09:.4f} USD; the slide truncates it to 0.064 (0.065 rounded). The formula on "
        "the slide also omits the division by 2^30.",
        f"Lambda compute: their own figures, 21,290 GB-s a day x 31 x 0.00001667, give "
        f"{21290 * 31 * 0.00001667:.3f} USD, not 10.964. "
        f"The Lambda total is therefore {compute + lines[4].usd:.3f}, not 11.264, and the grand "
        f"total {breakdown.total:.3f}, not 67.423.",
        f"Lambda compute: the slides say duration is rounded to the tenth of a second (2018 billed "
        f"in 100 ms steps, rounded up) but use 0.876 s unrounded; billed at 0.9 s it is "
        f"{billed_2018:.3f} USD. Today Lambda bills in 1 ms steps.",
        "Lambda requests: the formula '48.618 * 0,0000002' is one day (0.0097 USD); the 0.30 shown "
        f"is the month, {calls:,} x 0.0000002 = {lines[4].usd:.4f}.",
        "Lambda: the compute line counts 99.98% of the calls, each lasting the 99.98th-percentile "
        "time (0.876 s; the 95th percentile is 0.023 s): a deliberately pessimistic model, not an "
        "average.",
        f"Free tier is applied to DynamoDB (storage, first GB out) but not to API Gateway or Lambda; "
        f"with Lambda's free tier (400,000 GB-s and 1M requests a month) Lambda would cost "
        f"{with_free:.3f} USD.",
        "The same 0.72 GB of answers is charged as API Gateway transfer and counted again as "
        "DynamoDB transfer out; only one of them leaves AWS to the caller.",
    ]
    return SlidesExample(breakdown, notes)


# ---------------------------------------------------------------------------------------------
# The ledger of what ran locally


@dataclass
class FunctionUse:
    invocations: int = 0
    billed_ms: float = 0
    gb_seconds: float = 0
    cold_starts: int = 0
    errors: int = 0


@dataclass
class MachineUse:
    executions: int = 0
    transitions: int = 0


def transitions(history) -> int:
    """Billed state transitions of one execution: every state entered, plus every retry."""
    count = 0
    for visit in graph.visits(history):
        count += 1 + max(0, len(visit.attempts) - 1)
    return count


@dataclass
class Ledger:
    functions: dict[str, FunctionUse]
    state_machines: dict[str, MachineUse]
    sms_sent: int | None

    @property
    def invocations(self) -> int:
        return sum(f.invocations for f in self.functions.values())

    @property
    def gb_seconds(self) -> float:
        return sum(f.gb_seconds for f in self.functions.values())

    @property
    def transitions(self) -> int:
        return sum(m.transitions for m in self.state_machines.values())

    def table(self) -> executions.Table:
        rows = [["function", name, f"{u.invocations} invocations, {u.gb_seconds:.4f} GB-s billed, "
                 f"{u.cold_starts} cold, {u.errors} with errors"] for name, u in sorted(self.functions.items())]
        rows += [["state machine", name, f"{u.executions} executions, {u.transitions} transitions"]
                 for name, u in sorted(self.state_machines.items())]
        sms_text = "not counted" if self.sms_sent is None else f"{self.sms_sent} sent"
        rows.append(["Twilio", "SMS", sms_text])
        return executions.Table(["kind", "name", "used"], rows, "What ran in the local cloud")

    def __str__(self) -> str:
        return str(self.table())

    __repr__ = __str__

    def project(self, reports_run: int, reports_per_day: float, days: float = 30,
                prices: Prices = PRICES_2025, free_tier: bool = False,
                api_requests_per_report: float = 1, response_bytes: float = 512,
                sms_price: float = TWILIO_SMS_US_2025) -> Breakdown:
        """Scale what `reports_run` reports used to `reports_per_day` for `days` on AWS + Twilio.

        Each report is one inbound SMS (the webhook call) plus the SMS the app sent.
        """
        if reports_run <= 0:
            raise ValueError("reports_run must be at least 1: the number of reports the ledger's "
                             "usage was measured on.")
        scale = reports_per_day * days / reports_run
        monthly_reports = reports_per_day * days
        api_calls = monthly_reports * api_requests_per_report
        lines = [api_requests(api_calls, prices),
                 transfer_out("API Gateway", api_calls * response_bytes / GB, prices, free_tier),
                 lambda_requests(self.invocations * scale, prices, free_tier),
                 lambda_compute(self.gb_seconds * scale, prices, free_tier),
                 sfn_transitions(self.transitions * scale, prices, free_tier),
                 sms(monthly_reports + (self.sms_sent or 0) * scale, sms_price)]
        return Breakdown(lines, f"{reports_per_day:g} reports a day for {days:g} days, "
                                f"{prices.name}, {'with' if free_tier else 'without'} free tier")


def ledger(functions: list[str] | None = None, state_machines: list[str] | None = None,
           sms_sent: int | None = None) -> Ledger:
    """Usage recorded in the local cloud: invocations and billed GB-s from REPORT lines, state
    transitions from execution histories. Functions and state machines default to all of them.

    SMS: `sms_sent` if given, else the messages the app's number sent through the Twilio
    stand-in when that is present, else not counted.
    """
    sms_sent = sms_sent if sms_sent is not None else _standin_sms_sent()
    functions = logs.logged_functions() if functions is None else functions
    used_functions = {}
    for name in functions:
        use = FunctionUse()
        for inv in logs.recent_invocations(name, limit=None, streams=None):
            if not inv.reported:
                continue
            use.invocations += 1
            use.billed_ms += inv.metrics["Billed Duration"]
            use.gb_seconds += inv.gb_seconds
            use.cold_starts += inv.cold_start
            use.errors += bool(inv.errors)
        used_functions[name] = use
    table = executions.executions() if state_machines is None else None
    if state_machines is None:
        state_machines = sorted({row[0] for row in table.rows})
    used_machines = {}
    for name in state_machines:
        arn = executions.state_machine_arn(name)
        use = MachineUse()
        for row in executions.executions(arn).records():
            use.executions += 1
            use.transitions += transitions(executions.fetch_history(
                executions.execution_arn(arn, row["execution"])))
        used_machines[arn.rsplit(":", 1)[-1]] = use
    return Ledger(used_functions, used_machines, sms_sent)


def _standin_sms_sent() -> int | None:
    """Messages sent from the app's number, counted in the local Twilio stand-in if there is one."""
    try:
        from gluelab import twilio_local
        from twilio.base.exceptions import TwilioException
    except ImportError:
        return None
    try:
        creds = twilio_local.credentials()
        if creds.mode != "local":
            return None
        return len(twilio_local.messages(from_=creds.phone_number, limit=None))
    except (RuntimeError, OSError, TwilioException):  # stand-in not served: shown as "not counted"
        return None


# ---------------------------------------------------------------------------------------------
# The widget for lab 00


LABEL_WIDTH = "120px"  # fits the longest description, "transitions/req"; the default cuts it off


def estimator_widget(usage: Usage | None = None):
    """Sliders and inputs -> a live breakdown table (ipywidgets)."""
    import ipywidgets as w

    usage = usage or SLIDES_USAGE
    controls = {
        "requests_per_day": w.IntText(value=usage.requests_per_day, description="requests/day"),
        "days": w.IntSlider(value=usage.days, min=28, max=31, description="days"),
        "lambda_duration_ms": w.FloatLogSlider(value=usage.lambda_duration_ms, base=10, min=0, max=4,
                                               description="duration ms"),
        "lambda_memory_mb": w.Dropdown(options=[128, 256, 512, 1024, 2048, 3008],
                                       value=usage.lambda_memory_mb, description="memory MB"),
        "response_bytes": w.IntText(value=usage.response_bytes, description="answer bytes"),
        "api_cache_gb": w.Dropdown(options=[("none", None), ("0.5 GB", 0.5), ("1.6 GB", 1.6),
                                            ("6.1 GB", 6.1)], value=usage.api_cache_gb,
                                   description="API cache"),
        "dynamodb_mode": w.ToggleButtons(options=["provisioned", "on-demand"],
                                         value=usage.dynamodb_mode, description="DynamoDB"),
        "dynamodb_rcu": w.IntText(value=usage.dynamodb_rcu, description="RCU"),
        "dynamodb_wcu": w.IntText(value=usage.dynamodb_wcu, description="WCU"),
        "dynamodb_reads_per_request": w.FloatText(value=usage.dynamodb_reads_per_request,
                                                  description="reads/request"),
        "dynamodb_writes_per_request": w.FloatText(value=usage.dynamodb_writes_per_request,
                                                   description="writes/request"),
        "dynamodb_storage_gb": w.FloatText(value=usage.dynamodb_storage_gb, description="storage GB"),
        "transitions_per_request": w.FloatText(value=usage.transitions_per_request,
                                               description="transitions/req"),
        "sms_per_request": w.FloatText(value=usage.sms_per_request, description="SMS/request"),
    }
    price_set = w.Dropdown(options=list(PRICE_SETS), value="2018-slides", description="prices")
    free_tier = w.Checkbox(value=False, description="free tier")
    output = w.HTML()
    slides = estimate(SLIDES_USAGE, PRICES_2018_SLIDES).total
    note = w.HTML(
        f"<p style='max-width:420px;font-size:12px'>It starts at the slides' month, with their "
        f"2018 prices: {slides:.2f} USD here against their {SLIDES_TOTALS['total']:.2f}, because "
        "it bills Lambda at 0.9 s for every call (2018's 100 ms steps) where the slides used "
        "0.876 s for 99.98% of the calls, and it charges DynamoDB storage, which the slides left "
        "in the free tier.</p>")

    def refresh(_change=None):
        values = {name: control.value for name, control in controls.items()}
        prices = PRICE_SETS[price_set.value]
        try:
            output.value = estimate(replace(usage, **values), prices, free_tier.value)._repr_html_()
        except ValueError as exc:
            output.value = f'<p style="color:#c62828">{exc}</p>'

    for control in [*controls.values(), price_set, free_tier]:
        control.style.description_width = LABEL_WIDTH
        control.observe(refresh, names="value")
    refresh()
    return w.HBox([w.VBox([price_set, free_tier, *controls.values()]), w.VBox([note, output])])
