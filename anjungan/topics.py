"""MQTT topics, contract version 1. The only place topic strings are spelled.

    anjungan/v1/kiosk/{kiosk_id}/capture   kiosk -> centre   CBOR capture packet, QoS 1
    anjungan/v1/kiosk/{kiosk_id}/ack       centre -> kiosk   JSON `Ack`, `PacketStatus`,
                                                             `FeedbackAck`, `StatusReply`, QoS 1
    anjungan/v1/kiosk/{kiosk_id}/status    kiosk (retained, Last Will)  JSON `KioskStatus`
    anjungan/v1/kiosk/{kiosk_id}/health    kiosk -> centre   JSON `Health`, periodic
    anjungan/v1/kiosk/{kiosk_id}/feedback  kiosk -> centre   JSON `Feedback`, QoS 1, re-sent
                                                             until its `FeedbackAck`
    anjungan/v1/kiosk/{kiosk_id}/query     kiosk -> centre   JSON `StatusQuery` (a receipt from
                                                             another kiosk); `StatusReply` on ack
    anjungan/v1/kiosk/{kiosk_id}/renew     kiosk -> signer   JSON `RenewalRequest`: a CSR for a
                                                             fresh key, QoS 1, re-sent until answered
    anjungan/v1/kiosk/{kiosk_id}/renewed   signer -> kiosk   JSON `RenewalReply`: the certificate
                                                             (and the gateway's current key) or why not

Payload types live in `anjungan.messages` (JSON) and `anjungan.packet` (CBOR).
"""

from __future__ import annotations

import re

from anjungan.errors import AnjunganError

VERSION = "v1"
PREFIX = f"anjungan/{VERSION}/kiosk"
KINDS = ("capture", "ack", "status", "health", "feedback", "query", "renew", "renewed")
KIOSK_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class TopicError(AnjunganError):
    """A topic outside the contract."""


def check_kiosk_id(kiosk_id: str) -> str:
    """Kiosk ids are DNS-label-like: they appear in topics, certificates and file names."""
    if not isinstance(kiosk_id, str) or not KIOSK_ID_RE.match(kiosk_id):
        raise TopicError(
            f"invalid kiosk id {kiosk_id!r}: use 2-63 lowercase letters, digits or '-'"
        )
    return kiosk_id


def topic(kiosk_id: str, kind: str) -> str:
    if kind not in KINDS:
        raise TopicError(f"unknown topic kind {kind!r}")
    return f"{PREFIX}/{check_kiosk_id(kiosk_id)}/{kind}"


def subscription(kind: str) -> str:
    """The wildcard the centre subscribes to for one kind, e.g. anjungan/v1/kiosk/+/capture."""
    if kind not in KINDS:
        raise TopicError(f"unknown topic kind {kind!r}")
    return f"{PREFIX}/+/{kind}"


def shared_subscription(kind: str, group: str) -> str:
    """An MQTT 5 shared subscription to one kind, `$share/{group}/anjungan/v1/kiosk/+/{kind}`:
    the broker hands each message to one member of the group, so instances share the work."""
    if not KIOSK_ID_RE.match(group):
        raise TopicError(f"invalid share group {group!r}")
    return f"$share/{group}/{subscription(kind)}"


def parse(topic_name: str) -> tuple[str, str]:
    """Split a topic into (kiosk_id, kind); TopicError for anything else."""
    parts = topic_name.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != PREFIX or parts[4] not in KINDS:
        raise TopicError(f"topic outside contract {VERSION}: {topic_name[:120]!r}")
    return check_kiosk_id(parts[3]), parts[4]
