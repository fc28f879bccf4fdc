"""MQTT topics, contract version 1. The only place topic strings are spelled.

    anjungan/v1/kiosk/{kiosk_id}/capture   kiosk -> centre   CBOR capture packet, QoS 1
    anjungan/v1/kiosk/{kiosk_id}/ack       centre -> kiosk   JSON `Ack`, `PacketStatus`,
                                                             `FeedbackAck`, `StatusReply`,
                                                             `HelpAck`, QoS 1
    anjungan/v1/kiosk/{kiosk_id}/status    kiosk (retained, Last Will)  JSON `KioskStatus`
    anjungan/v1/kiosk/{kiosk_id}/health    kiosk -> centre   JSON `Health`, periodic
    anjungan/v1/kiosk/{kiosk_id}/feedback  kiosk -> centre   JSON `Feedback`, QoS 1, re-sent
                                                             until its `FeedbackAck`
    anjungan/v1/kiosk/{kiosk_id}/help      kiosk -> fleet    JSON `HelpRequest` (a resident pressed
                                                             "Call an officer"), QoS 1, re-sent until
                                                             its `HelpAck`; staff's "on my way" is a
                                                             second `HelpAck` on ack
    anjungan/v1/kiosk/{kiosk_id}/query     kiosk -> centre   JSON `StatusQuery` (a receipt from
                                                             another kiosk); `StatusReply` on ack
    anjungan/v1/kiosk/{kiosk_id}/renew     kiosk -> signer   JSON `RenewalRequest`: a CSR for a
                                                             fresh key, QoS 1, re-sent until answered
    anjungan/v1/kiosk/{kiosk_id}/renewed   signer -> kiosk   JSON `RenewalReply`: the certificate
                                                             (and the gateway's current key) or why not

Payload types live in `anjungan.messages` (JSON) and `anjungan.packet` (CBOR).
"""

from __future__ import annotations

import enum

from anjungan import ids
from anjungan.errors import AnjunganError

VERSION = "v1"
PREFIX = f"anjungan/{VERSION}/kiosk"


class TopicKind(enum.StrEnum):
    """The last level of a kiosk's topic: what the message is."""

    CAPTURE = "capture"  # kiosk -> centre: a capture packet (CBOR)
    ACK = "ack"  # centre -> kiosk: Ack, PacketStatus, FeedbackAck, StatusReply, HelpAck
    STATUS = "status"  # kiosk, retained, and its Last Will: KioskStatus
    HEALTH = "health"  # kiosk -> fleet monitor: Health
    FEEDBACK = "feedback"  # kiosk -> fleet monitor: Feedback
    HELP = "help"  # kiosk -> fleet monitor: HelpRequest (a resident asks for an officer)
    QUERY = "query"  # kiosk -> centre: StatusQuery (a receipt from another kiosk)
    RENEW = "renew"  # kiosk -> signer: RenewalRequest
    RENEWED = "renewed"  # signer -> kiosk: RenewalReply


KINDS = tuple(TopicKind)


class TopicError(AnjunganError):
    """A topic outside the contract."""


def check_kiosk_id(kiosk_id: str) -> str:
    """The kiosk-id rule (`anjungan.ids`), refused as a TopicError here."""
    try:
        return ids.check_kiosk_id(kiosk_id)
    except ids.IdError as exc:
        raise TopicError(str(exc)) from None


def topic(kiosk_id: str, kind: TopicKind) -> str:
    if kind not in KINDS:
        raise TopicError(f"unknown topic kind {kind!r}")
    return f"{PREFIX}/{check_kiosk_id(kiosk_id)}/{kind}"


def subscription(kind: TopicKind) -> str:
    """The wildcard the centre subscribes to for one kind, e.g. anjungan/v1/kiosk/+/capture."""
    if kind not in KINDS:
        raise TopicError(f"unknown topic kind {kind!r}")
    return f"{PREFIX}/+/{kind}"


def shared_subscription(kind: TopicKind, group: str) -> str:
    """An MQTT 5 shared subscription to one kind, `$share/{group}/anjungan/v1/kiosk/+/{kind}`:
    the broker hands each message to one member of the group, so instances share the work."""
    if not ids.KIOSK_ID_RE.match(group):
        raise TopicError(f"invalid share group {group!r}")
    return f"$share/{group}/{subscription(kind)}"


def subject(topic_name: str) -> str:
    """The NATS subject an MQTT topic of this contract becomes on a NATS broker (its MQTT
    listener turns `/` into `.`; our levels hold no `.`, space or wildcard to escape)."""
    return topic_name.replace("/", ".")


def from_subject(subject_name: str) -> str:
    """The MQTT topic of a NATS subject (`subject`'s inverse), e.g. for `parse`."""
    return subject_name.replace(".", "/")


def parse(topic_name: str) -> tuple[str, TopicKind]:
    """Split a topic into (kiosk_id, kind); TopicError for anything else."""
    parts = topic_name.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != PREFIX or parts[4] not in KINDS:
        raise TopicError(f"topic outside contract {VERSION}: {topic_name[:120]!r}")
    return check_kiosk_id(parts[3]), TopicKind(parts[4])
