"""The second half of a big text model's parse, in a forked process while this one parses the first.

numpy's text parser holds the GIL, so a second thread parses nothing meanwhile; a forked process shares the file's
pages and the parsed arrays come back over a pipe as raw bytes. The OBJ reader and measure and the ASCII PLY and STL
readers use it (`obj_text`, `ingest`)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


def spare_core() -> bool:
    """Whether a half may go to a forked process: the machine has a core to spare and this is not already an asset
    worker (whose siblings have the other cores)."""
    return (os.cpu_count() or 1) > 1 and multiprocessing.parent_process() is None


def line_start_near(path: Path, offset: int) -> int:
    """The first line start at or after `offset` (the file's size if none)."""
    with path.open("rb") as handle:
        handle.seek(max(offset - 1, 0))
        while chunk := handle.read(1 << 16):
            newline = chunk.find(b"\n")
            if newline >= 0:
                return handle.tell() - len(chunk) + newline + 1
    return path.stat().st_size


class ForkedHalf(Generic[T]):
    """parse() in a forked process from now on, its result by `result()`. The child hands its result back by
    send(connection, result), and `result()` takes it by receive(first message, connection); None and an exception
    come back as they are (the exception is raised by `result()`). A child that dies (killed, out of memory) leaves
    its half to `result()`, which then parses it here, as it does when no process could be forked (a container's
    limit on processes). `close()` stops and joins a child whose result is no longer wanted; a `with` block closes
    it."""

    def __init__(self, parse: Callable[[], T | None], send: Callable[[Any, T], None],
                 receive: Callable[[Any, Any], T]) -> None:
        self._parse, self._receive = parse, receive
        context = multiprocessing.get_context("fork")  # the child runs only the parse's own numpy code
        self._receiving, sending = context.Pipe(duplex=False)
        self._child: Any = context.Process(target=_in_child, args=(parse, send, sending), daemon=True)
        try:
            self._child.start()
        except OSError:
            self._child = None
        sending.close()

    def result(self) -> T | None:
        try:
            if self._child is None:
                raise EOFError  # no child: its half is parsed here
            message = self._receiving.recv()
            outcome = (message if message is None or isinstance(message, BaseException)
                       else self._receive(message, self._receiving))
        except EOFError:  # the child died, or none could be forked: its half is parsed here
            outcome = self._parse()
        finally:
            self.close()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def close(self) -> None:
        self._receiving.close()
        if self._child is not None:
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()

    def __enter__(self) -> ForkedHalf[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _in_child(parse: Callable[[], T | None], send: Callable[[Any, T], None], sending: Any) -> None:
    """A forked process's half: its result, None, or the exception that stopped it. It leaves by os._exit: the
    parent's other threads (a live preview's HTTP threads) may have held a stream's lock at the fork, and an exit
    that flushed it would hang."""
    try:
        try:
            result = parse()
        except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
            sending.send(error)
            return
        if result is None:
            sending.send(None)
        else:
            send(sending, result)
    finally:
        sending.close()
        os._exit(0)


def send_whole(sending: Any, result: Any) -> None:
    sending.send(result)


def received_whole(message: Any, _: Any) -> Any:
    return message


def send_array(sending: Any, array: np.ndarray) -> None:
    """An array's dtype and shape, then its raw bytes: never a pickled copy of them."""
    sending.send((array.dtype.descr if array.dtype.names else array.dtype.str, array.shape))
    send_raw(sending, array)


def received_array(message: tuple[Any, tuple[int, ...]], receiving: Any) -> np.ndarray:
    """The array send_array sent, received straight into its own memory."""
    descr, shape = message
    array = np.empty(shape, np.dtype(descr))
    receive_raw(receiving, array)
    return array


def send_raw(sending: Any, array: np.ndarray) -> None:
    sending.send_bytes(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)


def receive_raw(receiving: Any, array: np.ndarray) -> None:
    """Into `array` (contiguous, of the shape and type sent), the bytes send_raw sent."""
    if array.nbytes:
        receiving.recv_bytes_into(array.reshape(-1).view(np.uint8).data)
    else:
        receiving.recv_bytes()
