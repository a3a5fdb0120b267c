"""Conversation storage of the Switchyard platform: SQLAlchemy 2.x on SQLite.

One in-memory database per deployment (``StaticPool``: the one connection every session
shares). A :class:`MessageStore` opens one ORM session per unit of work, synchronously and
without an ``await`` inside, so two jobs on the loop never interleave in one transaction. The
``conversations`` table says who owns a thread: a turn on another user's thread is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import ForeignKey, String, Text, create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

__all__ = ["ConversationRow", "MessageRow", "MessageStore", "NotOwner", "StoredMessage"]


class _Base(DeclarativeBase):
    pass


class ConversationRow(_Base):
    __tablename__ = "conversations"

    thread_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64), index=True)


class MessageRow(_Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("conversations.thread_id"), index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)


class NotOwner(Exception):
    """The thread belongs to another user."""


class StoredMessage:
    """A message read back, detached from any session (plain values only)."""

    __slots__ = ("body", "role", "run_id")

    def __init__(self, run_id: str, role: str, body: str) -> None:
        self.run_id = run_id
        self.role = role
        self.body = body


class MessageStore:
    """Conversations and their messages (shared infrastructure: holds an engine, no rows)."""

    def __init__(self, url: str = "sqlite+pysqlite:///:memory:") -> None:
        self.engine: Engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        _Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.units = 0

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One unit of work: a session and a transaction, committed on success."""
        self.units += 1
        with self._sessions() as session, session.begin():
            yield session

    def claim(self, session: Session, thread_id: str, user_id: str) -> bool:
        """Make ``user_id`` the owner of a new thread; raise :class:`NotOwner` if another is.

        Returns True when the thread was new.
        """
        row = session.get(ConversationRow, thread_id)
        if row is None:
            session.add(ConversationRow(thread_id=thread_id, owner_id=user_id))
            return True
        if row.owner_id != user_id:
            raise NotOwner(f"thread_id={thread_id!r} is not yours")
        return False

    def append(self, session: Session, thread_id: str, run_id: str, role: str, body: str) -> None:
        session.add(MessageRow(thread_id=thread_id, run_id=run_id, role=role, body=body))

    def history(self, session: Session, thread_id: str, limit: int = 20) -> list[StoredMessage]:
        """The last ``limit`` messages of a thread, oldest first, as plain values."""
        rows = session.scalars(
            select(MessageRow)
            .where(MessageRow.thread_id == thread_id)
            .order_by(MessageRow.id.desc())
            .limit(limit)
        ).all()
        return [StoredMessage(r.run_id, r.role, r.body) for r in reversed(rows)]

    def count(self, session: Session, thread_id: str) -> int:
        query = select(func.count()).select_from(MessageRow)
        return int(session.scalar(query.where(MessageRow.thread_id == thread_id)) or 0)

    def dispose(self) -> None:
        self.engine.dispose()
