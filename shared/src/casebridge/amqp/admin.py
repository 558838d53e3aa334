"""The broker operations of admin tools (the CLI, local mode): short blocking connections,
passive queue reads, `basic_get` without ack, confirmed republish, and queue listing through the
management API when the broker has it.

One module, so every admin tool meets a refused connection, a refused password or a malformed
URL the same way: as a `StartupError` with one line to show.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from casebridge.startup import CONFIG, UNREACHABLE, StartupError, check_amqp_url, redact_url

MANAGEMENT_TIMEOUT_S = 3.0


def parameters(url: str, *, name: str = "casebridge-admin") -> pika.URLParameters:
    """pika parameters of a checked URL (a malformed one is a `StartupError`, not IndexError)."""
    check_amqp_url(url)
    params = pika.URLParameters(url)
    params.client_properties = {"connection_name": name}
    params.connection_attempts = 1
    params.socket_timeout = 5
    return params


@contextlib.contextmanager
def connection(url: str, *, name: str = "casebridge-admin") -> Iterator[BlockingConnection]:
    """A blocking connection, closed on exit (every message not acked goes back to its queue)."""
    params = parameters(url, name=name)
    where = f"{params.host}:{params.port}"
    try:
        conn = pika.BlockingConnection(params)
    except (
        pika.exceptions.ProbableAuthenticationError,
        pika.exceptions.AuthenticationError,
        pika.exceptions.ProbableAccessDeniedError,
    ):
        raise StartupError(f"the broker at {where} refused the credentials", CONFIG) from None
    except pika.exceptions.AMQPConnectionError:
        raise StartupError(
            f"cannot connect to the broker at {where} (RABBITMQ_URL): refused or not answering",
            UNREACHABLE,
        ) from None
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def queue_counts(conn: BlockingConnection, queue: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of a queue, or None when it does not exist."""
    channel: BlockingChannel = conn.channel()
    try:
        declared = channel.queue_declare(queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker:
        return None
    with contextlib.suppress(Exception):
        channel.close()
    return int(declared.method.message_count), int(declared.method.consumer_count)


def total_ready(url: str, queues: list[str]) -> int:
    """Ready messages of `queues` together (missing ones count 0), on one short connection."""
    with connection(url, name="casebridge-drain") as conn:
        return sum((queue_counts(conn, q) or (0, 0))[0] for q in queues)


@dataclass
class Got:
    """A message taken with `basic_get` and not acked yet."""

    queue: str
    delivery_tag: int
    properties: pika.BasicProperties
    body: bytes


def get_each(
    conn: BlockingConnection, channel: BlockingChannel, queues: list[str]
) -> Iterator[Got]:
    """The messages of `queues`, one at a time, each held unacked on `channel`; each queue is
    read at most as deep as it was when its turn came (new arrivals are not met)."""
    for queue in queues:
        counts = queue_counts(conn, queue)
        if counts is None:
            continue
        for _ in range(counts[0]):
            method, props, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            yield Got(queue, method.delivery_tag, props, body)


def republish(
    channel: BlockingChannel, queue: str, body: bytes, properties: pika.BasicProperties
) -> None:
    """Publish to `queue` through the default exchange, mandatory; on a confirming channel this
    returns only after the broker confirmed (an unroutable message raises, never vanishes)."""
    channel.basic_publish("", queue, body, properties, mandatory=True)


@dataclass(frozen=True)
class Management:
    """Where the management API is: base URL, basic-auth credentials, vhost."""

    base: str
    credentials: str | None
    vhost: str

    @classmethod
    def of(cls, amqp_url: str, management_url: str | None) -> Management:
        """From an explicit management URL, else http://<AMQP host>:15672 with its credentials."""
        amqp = urllib.parse.urlsplit(amqp_url)
        vhost = urllib.parse.unquote(amqp.path[1:]) if len(amqp.path) > 1 else "/"
        if management_url is not None:
            url = urllib.parse.urlsplit(management_url)
        else:
            user = f"{amqp.username or ''}:{amqp.password or ''}@"
            url = urllib.parse.urlsplit(f"http://{user}{amqp.hostname or 'localhost'}:15672")
        credentials = None
        if url.username is not None:
            credentials = (
                f"{urllib.parse.unquote(url.username)}:{urllib.parse.unquote(url.password or '')}"
            )
        host = url.hostname or "localhost"
        base = f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}{url.path.rstrip('/')}"
        return cls(base, credentials, vhost)

    def queues(self, columns: str = "name") -> tuple[list[dict[str, object]] | None, str]:
        """Every queue of the vhost (the `columns` asked for), or None and why not."""
        if not self.base.startswith(("http://", "https://")):
            return None, f"management API URL {redact_url(self.base)!r} is not http(s)"
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            f"{self.base}/api/queues/{urllib.parse.quote(self.vhost, safe='')}?columns={columns}"
        )
        if self.credentials is not None:
            token = base64.b64encode(self.credentials.encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=MANAGEMENT_TIMEOUT_S) as response:  # noqa: S310
                document = json.loads(response.read())
        except (OSError, ValueError) as exc:  # refused, timeout, 401, not JSON
            return None, f"management API at {self.base} not answering ({type(exc).__name__})"
        if not isinstance(document, list):
            return None, f"management API at {self.base} answered something unexpected"
        return [
            item for item in document if isinstance(item, dict)
        ], f"management API at {self.base}"
