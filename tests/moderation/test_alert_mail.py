"""The managers' alert and report e-mails go through the worker: never from a socket's path, never twice."""

import asyncio
import socket
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.core import mail
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from chatplatform.models import SentOnce
from chatplatform.worker import enqueue
from tests.moderation.sockets import active_conversation
from tests.support import run_worker_once

pytestmark = pytest.mark.django_db(transaction=True)


class SilentSMTPServer:
    """A local socket that takes connections and never says a word (a hung mail server)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn):
        """Say nothing."""

    def close(self):
        for conn in self.held:
            conn.close()
        self.sock.close()


def _worker_in_own_thread():
    from django.db import connection

    try:
        run_worker_once()
    finally:
        connection.close()


@pytest.fixture
def hung_smtp(settings):
    server = SilentSMTPServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_TIMEOUT = 2
    yield server
    server.close()


async def test_a_hung_mail_server_delays_no_chat_frame_and_the_timeout_frees_the_worker(
    connect, brand, alice, manager, via_proxy, hung_smtp
):
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    started = time.monotonic()
    await expert.request({"type": "moderation.alert", "conversation": conversation_id, "note": "Insults"}, "alert.raised")
    assert time.monotonic() - started < 1  # the alert's e-mail is only queued
    # The worker in a thread of its own, as in its own process (not the sockets' database thread).
    stuck = asyncio.ensure_future(asyncio.to_thread(_worker_in_own_thread))  # it now waits on the silent server
    await asyncio.sleep(0.2)
    for n in range(5):
        started = time.monotonic()
        await visitor.request({"type": "message.send", "text": f"still here {n}", "client_id": f"h{n}"}, "message")
        assert (await expert.recv_type("message"))["message"]["text"] == f"still here {n}"
        assert time.monotonic() - started < 0.5
    assert not stuck.done()
    started = time.monotonic()
    await asyncio.wait_for(stuck, timeout=10)
    assert time.monotonic() - started < 3  # EMAIL_TIMEOUT (2 s) bounds the wait
    row = await database_sync_to_async(DBTaskResult.objects.get)(task_path="moderation.tasks.email_alert")
    assert row.status == TaskResultStatus.READY and row.run_after > timezone.now()  # to be tried again later
    assert mail.outbox == [] and not await database_sync_to_async(SentOnce.objects.exists)()  # nothing was sent


class SMTPServerHangingAfterData(SilentSMTPServer):
    """A mail server that takes the whole message in and never confirms it (the ambiguous failure)."""

    messages_received = 0

    def session(self, conn):
        reader = conn.makefile("rb")
        try:
            conn.sendall(b"220 mail.test ready\r\n")
            for line in reader:
                verb = line.split(b" ")[0].strip().upper()
                if verb in (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    conn.sendall(b"250 ok\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    for body_line in reader:
                        if body_line == b".\r\n":
                            self.messages_received += 1
                            break
                    return  # ...and never says 250
                elif verb == b"QUIT":
                    return
        except OSError:
            return


def test_a_mail_server_that_fails_after_taking_the_message_gets_it_once_not_again(manager, brand, settings):
    from moderation.models import Alert
    from moderation.tasks import email_alert

    server = SMTPServerHangingAfterData()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 1
    settings.CHAT_WORKER_RETRY_SECONDS = 0
    try:
        alert = Alert.objects.create(brand=brand, kind=Alert.Kind.FLOOD, note="Too fast")
        enqueue(email_alert, alert_id=alert.pk)
        run_worker_once()
        enqueue(email_alert, alert_id=alert.pk)  # queued again, and the worker passes again
        run_worker_once()
        run_worker_once()
        assert server.messages_received == 1  # it may have kept it: never sent a second time
        assert SentOnce.objects.get(key=f"moderation.alert:{alert.pk}").state == "uncertain"
        assert set(DBTaskResult.objects.values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}
    finally:
        server.close()
