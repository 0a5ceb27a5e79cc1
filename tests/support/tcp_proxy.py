"""A TCP proxy a test can cut and restore: the database "going away" without stopping the
shared PostgreSQL server that other tests and people use.

``cut()`` aborts every open connection (the client sees the connection reset, as when the
server dies) and stops listening (new connections are refused); ``restore()`` listens again
on the same port. Runs in the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self._cut_after: int | None = None
        self._cutting: asyncio.Task[None] | None = None

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def cut(self) -> None:
        """Reset every connection through the proxy and refuse new ones."""
        self._cut_after = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def cut_after(self, messages: int) -> None:
        """Cut once ``messages`` more chunks went from the clients to the server: in the
        middle of whatever the clients are doing then, whatever the machine's speed."""
        self._cut_after = messages

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def stop(self) -> None:
        await self.cut()

    @property
    def is_cut(self) -> bool:
        return self._server is None

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.is_cut:  # accepted in the instant before the cut
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections += 1
        self._writers |= {client_writer, server_writer}
        try:
            await asyncio.gather(
                _pipe(client_reader, server_writer, self._client_sent), _pipe(server_reader, client_writer)
            )
        finally:
            self._writers -= {client_writer, server_writer}

    def _client_sent(self) -> None:
        if self._cut_after is None:
            return
        self._cut_after -= 1
        if self._cut_after <= 0:
            self._cut_after = None
            self._cutting = asyncio.ensure_future(self.cut())


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, on_chunk: Callable[[], None] | None = None
) -> None:
    try:
        while data := await reader.read(65536):
            if on_chunk is not None:
                on_chunk()
                if writer.transport.is_closing():
                    break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
