"""A phone in the notebook: a simulated handset that texts the app through the Twilio stand-in.

    phone = Phone("+393331234567")
    phone                      # draws the handset; type a text and press Send
    phone.send("LIFT stuck")   # or drive it from code
    phone.show_signature()     # what Twilio signed for the last text, and the usual ways to get it wrong

Replies appear as they arrive, TwiML replies and messages sent through the REST API alike: a
background thread polls the stand-in while the phone is shown.
"""
from __future__ import annotations

import base64
import html
import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import ipywidgets as widgets

from gluelab import twilio_local
from gluelab.cloud.twilio_standin import signature, signed_string

POLL_S = 1.0
EARLIER_SHOWN = 4  # texts from before the phone was drawn that it still shows
FRAME = ("width:300px;border:10px solid #222;border-radius:36px;padding:14px 10px;"
         "background:#f4f4f6;font-family:-apple-system,Helvetica,Arial,sans-serif;font-size:13px")
# column-reverse: the newest message is first in the HTML and drawn at the bottom, where the
# screen stays scrolled, as on a phone.
SCREEN = "height:380px;overflow-y:auto;display:flex;flex-direction:column-reverse;gap:6px;padding:4px"
BUBBLE = ("max-width:78%;padding:7px 11px;border-radius:16px;white-space:pre-wrap;"
          "word-wrap:break-word;align-self:{side};background:{colour};color:{ink}")
# A stage path segment as API Gateway puts it in the URL (LocalStack's shape or AWS's).
STAGE = re.compile(r"^(?P<head>/restapis/[^/]+)/[^/]+(?P<tail>/_user_request_/.*)$|^/[^/]+(?P<rest>/.+)$")


def signature_pitfalls(delivery: dict, token: str) -> list[dict]:
    """What a receiver computes when it makes one of the classic API Gateway mistakes.

    Each entry: the mistake, the URL and fields it would use, the string it would sign and the
    signature it would get. If a receiver's computed signature equals one of these, that row
    names its bug.
    """
    url, params = delivery["signed_url"], delivery["params"] if delivery["method"] == "POST" else {}
    parts = urlsplit(url)
    flipped = "http" if parts.scheme == "https" else "https"
    path = parts.path
    slash = path[:-1] if path.endswith("/") else path + "/"
    stage = STAGE.match(path)
    no_stage = (stage["head"] + stage["tail"] if stage["head"] else stage["rest"]) if stage else path
    body = base64.b64encode(urlencode(params).encode()).decode()
    variants = [
        ("the correct request, as Twilio signed it", url, params),
        (f"{flipped}:// instead of {parts.scheme}:// (the scheme behind a proxy or load balancer)",
         urlunsplit(parts._replace(scheme=flipped)), params),
        ("trailing slash " + ("dropped" if path.endswith("/") else "added"),
         urlunsplit(parts._replace(path=slash)), params),
        ("stage path missing (event path instead of the public URL)",
         urlunsplit(parts._replace(path=no_stage)), params),
        ("body still base64 (isBase64Encoded not honoured)", url,
         dict(parse_qsl(body, keep_blank_values=True))),
        ("blank fields dropped (parse_qs without keep_blank_values=True)", url,
         {k: v for k, v in params.items() if v != ""}),
    ]
    return [{"mistake": name, "url": u, "params": p, "string": signed_string(u, p),
             "signature": signature(token, u, p)} for name, u, p in variants]


class Phone:
    """A handset drawn in the notebook; every method also works without a browser."""

    def __init__(self, number: str = "+393331234567", poll_s: float = POLL_S):
        self.number = number
        self.poll_s = poll_s
        self.messages: list[dict] = []
        self.last_delivery: dict | None = None
        self.screen = widgets.HTML()
        self.text = widgets.Text(placeholder="Text the app…", layout=widgets.Layout(width="210px"))
        self.send_button = widgets.Button(description="Send", button_style="success",
                                          layout=widgets.Layout(width="70px"))
        self.status = widgets.HTML()
        self.signature = widgets.HTML()
        self.signature_button = widgets.ToggleButton(description="Show signature")
        self.send_button.on_click(lambda _: self.send())
        self.signature_button.observe(self._toggle_signature, names="value")
        self.widget = widgets.HBox([
            widgets.VBox([self.screen, widgets.HBox([self.text, self.send_button]), self.status]),
            widgets.VBox([self.signature_button, self.signature])])
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        # A phone drawn again (a re-run cell) shows the number's last few texts from before it,
        # not its whole history; received() counts only texts that came after it was made.
        self._hidden: set[str] = set()
        earlier = self.refresh()
        self._before = {m["sid"] for m in earlier}
        self._hidden = {m["sid"] for m in earlier[:-EARLIER_SHOWN]}
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        self.start()
        return self.widget._repr_mimebundle_(**kwargs)

    # ---- driving the phone --------------------------------------------------------------------
    def send(self, body: str | None = None) -> dict | None:
        """Text the app (the text box's content unless body is given); returns the inbound
        message, the webhook delivery and the replies, or None if the stand-in refused."""
        body = self.text.value if body is None else body
        if not body.strip():
            self.status.value = "<i>Type a message first.</i>"
            return None
        try:
            result = twilio_local.text_app(self.number, body)
        except twilio_local.TwilioSetupError as exc:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return None
        self.text.value = ""
        self.last_delivery = result["delivery"]
        error = self.last_delivery["error"]
        self.status.value = (f"<span style='color:#b00'>Twilio error {error['code']}: "
                             f"{html.escape(error['message'])}</span>" if error else "")
        self.refresh()
        if self.signature_button.value:
            self.show_signature()
        return result

    def refresh(self) -> list[dict]:
        """Fetch the conversation from the stand-in and redraw the screen."""
        try:
            self.messages = [m for m in twilio_local.conversation(self.number)
                             if m["sid"] not in self._hidden]
        except twilio_local.TwilioSetupError as exc:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
        self.screen.value = self._draw()
        return self.messages

    def received(self) -> list[str]:
        """Bodies of the texts this phone received since it was made, oldest first."""
        return [m["body"] for m in self.messages
                if m["to"] == self.number and m["sid"] not in self._before]

    def show_signature(self) -> str:
        """Draw (and return as HTML) what was signed for the last text this phone sent."""
        delivery = self.last_delivery
        if delivery is None:
            self.signature.value = "<i>Send a text first: its webhook request appears here.</i>"
        elif not delivery.get("signed_url"):
            self.signature.value = f"<i>{html.escape(delivery['error']['message'])}</i>"
        else:
            self.signature.value = self._draw_signature(delivery)
        self.signature_button.value = True
        return self.signature.value

    # ---- polling ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._poller is None or not self._poller.is_alive():
            self._stop.clear()
            self._poller = threading.Thread(target=self._poll, daemon=True,
                                            name=f"phone {self.number}")
            self._poller.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        # Redrawing is cheap: a widget only sends a value that changed to the browser.
        while not self._stop.wait(self.poll_s):
            self.refresh()

    # ---- drawing ------------------------------------------------------------------------------
    def _draw(self) -> str:
        bubbles = []
        for m in self.messages:
            mine = m["from"] == self.number
            style = BUBBLE.format(side="flex-end" if mine else "flex-start",
                                  colour="#34c759" if mine else "#e5e5ea",
                                  ink="white" if mine else "black")
            ticks = f" <small>· {m['status']}</small>" if not mine else ""
            bubbles.append(f"<div class='gluelab-{'out' if mine else 'in'}' style='{style}'>"
                           f"{html.escape(m['body'])}{ticks}</div>")
        bubbles.reverse()  # newest first: see SCREEN
        if self._hidden:
            bubbles.append(f"<div style='color:#888;font-size:11px;text-align:center'>"
                           f"{len(self._hidden)} earlier messages of this number not shown</div>")
        empty = "<div style='color:#888;margin:auto'>No messages yet</div>"
        return (f"<div style='{FRAME}'><div style='text-align:center;font-weight:600'>"
                f"{html.escape(self.number)}</div><div style='text-align:center;color:#888;"
                f"font-size:11px'>to {html.escape(twilio_local.credentials().phone_number)}</div>"
                f"<div style='{SCREEN}'>{''.join(bubbles) or empty}</div></div>")

    def _draw_signature(self, delivery: dict) -> str:
        token = twilio_local.credentials().auth_token
        fields = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td><code>"
                         f"{html.escape(repr(v)) if v == '' else html.escape(v)}</code></td></tr>"
                         for k, v in sorted(delivery["params"].items()))
        rows = "".join(
            f"<tr><td>{html.escape(p['mistake'])}</td><td><code>{html.escape(p['signature'])}</code>"
            f"</td><td><code style='font-size:10px'>{html.escape(p['string'][:160])}…</code></td></tr>"
            for p in signature_pitfalls(delivery, token))
        attempts = "; ".join(a["error"] or f"HTTP {a['status']}" for a in delivery["attempts"])
        # Long signatures and strings wrap, and the tables scroll sideways instead of clipping.
        return (f"<div style='font-size:12px;max-width:640px;overflow-x:auto;"
                f"overflow-wrap:anywhere'>"
                f"<b>{delivery['method']}</b> <code>{html.escape(delivery['url'])}</code> "
                f"({html.escape(attempts)})<br>"
                f"<b>X-Twilio-Signature</b> <code>{html.escape(delivery['signature'])}</code> "
                f"(HMAC-SHA1 with auth token {html.escape(twilio_local.mask(token))})<br>"
                f"<b>String signed</b> (URL, then each field name and value sorted by name):"
                f"<pre style='white-space:pre-wrap;font-size:11px'>"
                f"{html.escape(delivery['signed_string'])}</pre>"
                f"<details><summary>Fields posted ({len(delivery['params'])}, blank ones "
                f"included)</summary><table>{fields}</table></details>"
                f"<b>If your receiver computed a different signature</b>, find it here:"
                f"<table>{rows}</table></div>")

    def _toggle_signature(self, change) -> None:
        if change["new"]:
            self.show_signature()
        else:
            self.signature.value = ""
