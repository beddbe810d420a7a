"""Forwarding to a supplier by e-mail: a plain-text order with the lines as a CSV attachment, over
SMTP (smtplib, the stdlib ``email`` package).

SMTP has no idempotency key, so two things make a forward go out once: the supplier-order row's
state (a send happens only while it is 'reserved', under a per-row lock) and a Message-ID derived
from the key, so the one resend a crash between the SMTP "250 OK" and the row's update can cause
carries the same Message-ID as the first — a mail system or a person can tell it is the same.
"""

from __future__ import annotations

import csv
import io
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from loguru import logger

from workers.channels.errors import PermanentError, TransientError, scrub
from workers.suppliers.forward_settings import EmailSettings
from workers.suppliers.forward_types import Sent

CSV_COLUMNS = ("reference", "line_ref", "supplier_code", "barcode", "name", "options", "quantity", "unit_cost", "currency",
               "ship_name", "ship_company", "ship_phone", "ship_address", "ship_district", "ship_city",
               "ship_postcode", "ship_country")


def message_id(idempotency_key: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1].strip(">") or "kervan.local"
    return f"<kervan-{idempotency_key}@{domain}>"


def order_csv(document: dict[str, Any]) -> str:
    """One row per line, ship-to repeated on every row (a supplier's import reads rows alone).
    UTF-8 with a BOM: Excel, which most suppliers open it with, then shows Turkish letters right."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    ship = document["ship_to"]
    for line in document["lines"]:
        writer.writerow([document["reference"], line["line_ref"], line["supplier_code"], line.get("barcode") or "",
                         line["name"],
                         line.get("options") or "", line["quantity"], line.get("unit_cost") or "",
                         document["currency"], ship["name"], ship.get("company") or "", ship["telephone"],
                         ship["address"], ship.get("city") or "", ship.get("zone") or "", ship.get("postcode") or "",
                         ship.get("country_code") or ""])
    return "\ufeff" + out.getvalue()


def _text(document: dict[str, Any]) -> str:
    ship = document["ship_to"]
    lines = "\n".join(f"  {line['quantity']} x {line['supplier_code']}  {line['name']}"
                      + (f" ({line['options']})" if line.get("options") else "") for line in document["lines"])
    address = "\n".join(x for x in (ship["name"], ship.get("company"), ship["address"],
                                    f"{ship.get('postcode') or ''} {ship.get('city') or ''} / {ship.get('zone') or ''}",
                                    ship.get("country") or ship.get("country_code"), f"Tel: {ship['telephone']}") if x)
    return (f"Sipariş / Order {document['reference']} ({document['order_date']})\n\n"
            f"Lütfen aşağıdaki ürünleri müşterimize gönderin / Please ship to our customer:\n\n{address}\n\n"
            f"Ürünler / Lines:\n{lines}\n\n"
            + (f"Not / Note: {document['comment']}\n\n" if document.get("comment") else "")
            + "Satırlar ekteki CSV dosyasında da var / The lines are also in the attached CSV.\n"
              "Kargo takip numarasını bu sipariş numarasıyla bildirin / Please send tracking with this reference.\n")


def build_message(document: dict[str, Any], settings: EmailSettings, idempotency_key: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.to)
    msg["Subject"] = settings.subject.format(reference=document["reference"], order_id=document["order_id"])
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(idempotency_key, settings.sender)
    msg["X-Kervan-Reference"] = document["reference"]
    msg.set_content(_text(document))
    msg.add_attachment(order_csv(document), subtype="csv", charset="utf-8", cte="base64",
                       filename=f"{document['reference']}.csv")
    return msg


class EmailSender:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    def send(self, document: dict[str, Any], idempotency_key: str) -> Sent:
        msg = build_message(document, self.settings, idempotency_key)
        s = self.settings
        try:
            if s.ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password)
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._classify(min(code for code, _ in exc.recipients.values()),
                                 "the supplier's address was refused") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(self._clean(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}"),
                                 exc.smtp_code, "smtp_auth") from None
        except smtplib.SMTPResponseException as exc:
            raise self._classify(exc.smtp_code, f"SMTP answered {exc.smtp_code} {exc.smtp_error!r}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(self._clean(f"SMTP {s.host}:{s.port} unreachable ({type(exc).__name__}: {exc})"),
                                 None, "smtp_unreachable") from None
        if refused:
            # Some recipients took it: it went out; the refused ones are only worth a log line.
            logger.warning("order mail {} refused by {} of its recipients", msg["X-Kervan-Reference"], len(refused))
        return Sent(remote_id=msg["Message-ID"])

    def _classify(self, code: int, message: str) -> Exception:
        # 4xx: try later; 5xx: the server will not take it as it is.
        cls = TransientError if 400 <= int(code) < 500 else PermanentError
        return cls(self._clean(message), int(code), "smtp")

    def _clean(self, text: str) -> str:
        return scrub(text, self.settings.secrets())


__all__ = ["CSV_COLUMNS", "EmailSender", "build_message", "message_id", "order_csv"]
