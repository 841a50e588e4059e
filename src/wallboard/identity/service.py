"""The identity service: logins and browser sessions, API tokens and their signing keys, kiosk
links — everything that turns a credential into a :class:`~wallboard.web.policy.Subject`.

Each method runs in a transaction of its own (``Database.sessions``) and commits it: a failed
login's audit entry must land although the request answers an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
import uuid
from typing import Any

import jwt
import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.errors import InvalidInput, NotFound, Unauthenticated
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.db.models import (
    ApiToken,
    AuthSession,
    Dashboard,
    DashboardKind,
    KioskLink,
    SigningKey,
    User,
)
from wallboard.identity.audit import record_audit
from wallboard.identity.errors import CsrfFailed, InvalidCredentials, TooManyAttempts
from wallboard.identity.oidc import OpenIdConnect
from wallboard.identity.passwords import hash_password, needs_rehash, verify_password
from wallboard.identity.roles import privileges_of, session_expires
from wallboard.identity.secrets import (
    KIOSK_PREFIX,
    SESSION_PREFIX,
    check_csrf_token,
    csrf_token,
    digest,
    new_secret,
    new_token,
)
from wallboard.identity.throttle import LoginThrottle
from wallboard.settings import Settings
from wallboard.web.policy import Privilege, Subject, Visibility

log = logging.getLogger(__name__)

ISSUER = "wallboard"
ALGORITHM = "HS256"
LAST_SEEN_STEP_S = 60
"""A session's last use is written at most this often (not on every request)."""


class EverythingVisible:
    """The default :class:`~wallboard.web.policy.Visibility`: every object is visible (the
    permissions service provides the real one)."""

    async def visible_objects(
        self, tenant: TenantId, user: str
    ) -> frozenset[tuple[str, str]] | None:
        return None


@dataclasses.dataclass(frozen=True)
class LoginResult:
    user: User
    session_token: str
    csrf_token: str
    expires_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Authenticated:
    """A subject and, for a browser session, what the ``me`` answer needs."""

    subject: Subject
    user: User | None = None
    session: AuthSession | None = None


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    token: str
    row: ApiToken


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


class Identity:
    """Users, sessions, tokens and kiosk links on the metadata database."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        visibility: Visibility | None = None,
        clock: Clock | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.database = database
        self.settings = settings
        self.visibility: Visibility = visibility or EverythingVisible()
        self.clock = clock or SystemClock()
        self.oidc = OpenIdConnect.from_settings(settings)
        self.throttle = LoginThrottle(
            self.clock,
            failures=settings.auth_login_failures,
            max_wait_s=settings.auth_lockout_max_seconds,
            registry=registry,
        )

    def now(self) -> dt.datetime:
        return _utc(self.clock.now_ms())

    async def subject_of(self, user: User) -> Subject:
        return Subject(
            user=user.username,
            tenant=user.tenant_id,
            privileges=privileges_of(user.roles),
            visible_objects=await self.visibility.visible_objects(user.tenant_id, user.username),
        )

    # -- logins and browser sessions ---------------------------------------------------------

    async def login(self, username: str, password: str, client: str) -> LoginResult:
        """Check the password and open a session; InvalidCredentials or TooManyAttempts."""
        wait = self.throttle.wait(username, client)
        if wait > 0:
            raise TooManyAttempts(
                f"too many failed logins; try again in {int(wait) + 1} s", retry_after=wait
            )
        async with self.database.sessions() as session:
            user = await session.scalar(sa.select(User).where(User.username == username))
            ok = verify_password(user.password_hash if user else None, password)
            if user is None or not ok or user.disabled:
                self.throttle.failure(username, client)
                record_audit(
                    session,
                    tenant=user.tenant_id if user else None,
                    actor=username,
                    action="login.failed",
                    target=username,
                    client=client,
                    reason="disabled" if user is not None and ok else "invalid_credentials",
                )
                await session.commit()
                raise InvalidCredentials("the username or the password is wrong")
            assert user.password_hash is not None
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            self.throttle.success(username)
            result = await self._open_session(session, user, client, method="password")
            await session.commit()
            return result

    async def _open_session(
        self, session: AsyncSession, user: User, client: str, *, method: str
    ) -> LoginResult:
        token = new_token(SESSION_PREFIX)
        secret = new_secret()
        now = self.now()
        expires_at: dt.datetime | None = None
        idle: int | None = None
        if session_expires(privileges_of(user.roles)):
            expires_at = now + dt.timedelta(hours=self.settings.auth_session_max_hours)
            idle = self.settings.auth_session_idle_minutes * 60
        row = AuthSession(
            token_hash=digest(token),
            user_id=user.id,
            csrf_secret=secret,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            idle_seconds=idle,
        )
        session.add(row)
        record_audit(
            session,
            tenant=user.tenant_id,
            actor=user.username,
            action="login",
            target=user.username,
            client=client,
            method=method,
        )
        await session.flush()
        return LoginResult(user, token, csrf_token(secret), self.session_end(row))

    def session_end(self, row: AuthSession) -> dt.datetime | None:
        """When the session ends if unused from now on (None: never)."""
        if row.expires_at is None:
            return None
        if row.idle_seconds is None:
            return row.expires_at
        return min(row.expires_at, row.last_seen_at + dt.timedelta(seconds=row.idle_seconds))

    async def session_of(self, token: str, *, csrf: str | None, check_csrf: bool) -> Authenticated:
        """The subject of a session cookie; Unauthenticated when it is unknown or expired,
        CsrfFailed when ``check_csrf`` and ``csrf`` is not a token of this session."""
        if not token.startswith(SESSION_PREFIX) or len(token) > 200:
            raise Unauthenticated("the session is not valid; log in")
        async with self.database.sessions() as session:
            found = (
                await session.execute(
                    sa.select(AuthSession, User)
                    .join(User, User.id == AuthSession.user_id)
                    .where(AuthSession.token_hash == digest(token))
                )
            ).first()
            if found is None:
                raise Unauthenticated("the session has ended; log in")
            row, user = found[0], found[1]
            now = self.now()
            end = self.session_end(row)
            if user.disabled or (end is not None and end <= now):
                await session.delete(row)
                await session.commit()
                raise Unauthenticated("the session has ended; log in")
            if check_csrf and not check_csrf_token(row.csrf_secret, csrf):
                raise CsrfFailed(
                    "a change through the session needs the session's X-CSRF-Token header"
                )
            if (now - row.last_seen_at).total_seconds() >= LAST_SEEN_STEP_S:
                row.last_seen_at = now
                await session.commit()
            return Authenticated(await self.subject_of(user), user, row)

    async def logout(self, token: str, client: str) -> None:
        async with self.database.sessions() as session:
            found = (
                await session.execute(
                    sa.select(AuthSession, User)
                    .join(User, User.id == AuthSession.user_id)
                    .where(AuthSession.token_hash == digest(token))
                )
            ).first()
            if found is None:
                return
            row, user = found[0], found[1]
            await session.delete(row)
            record_audit(
                session,
                tenant=user.tenant_id,
                actor=user.username,
                action="logout",
                target=user.username,
                client=client,
            )
            await session.commit()

    async def login_external(self, username: str, client: str, *, method: str) -> LoginResult:
        """Open a session for a user an external provider vouched for (OpenID Connect)."""
        async with self.database.sessions() as session:
            user = await session.scalar(sa.select(User).where(User.username == username))
            if user is None or user.disabled:
                record_audit(
                    session,
                    tenant=user.tenant_id if user else None,
                    actor=username,
                    action="login.failed",
                    target=username,
                    client=client,
                    reason="no such local user" if user is None else "disabled",
                    method=method,
                )
                await session.commit()
                raise InvalidCredentials(f"no enabled local user {username!r}")
            result = await self._open_session(session, user, client, method=method)
            await session.commit()
            return result

    # -- API tokens and their keys ------------------------------------------------------------

    async def _signing_key(self, session: AsyncSession) -> SigningKey:
        key = await session.scalar(
            sa.select(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
            .limit(1)
        )
        if key is None:
            key = await self.rotate_key(session, actor="system", client="")
        return key

    async def rotate_key(self, session: AsyncSession, *, actor: str, client: str) -> SigningKey:
        """A new key signs from now on; the older ones still verify until retired."""
        newest = await session.scalar(sa.select(sa.func.max(SigningKey.created_at)))
        created = self.now()
        if newest is not None and created <= newest:
            # The newest key signs: two rotations within a clock tick must still be ordered.
            created = newest + dt.timedelta(milliseconds=1)
        key = SigningKey(
            kid=uuid.uuid4().hex[:16], secret=secrets.token_hex(32), created_at=created
        )
        session.add(key)
        record_audit(
            session, tenant=None, actor=actor, action="key.rotate", target=key.kid, client=client
        )
        await session.flush()
        return key

    async def retire_key(
        self, session: AsyncSession, kid: str, *, actor: str, client: str
    ) -> SigningKey:
        """The key verifies no token any more (the tokens it signed stop working)."""
        key = await session.get(SigningKey, kid)
        if key is None:
            raise NotFound(f"no signing key {kid!r}", kid=kid)
        if key.retired_at is None:
            key.retired_at = self.now()
            record_audit(
                session, tenant=None, actor=actor, action="key.retire", target=kid, client=client
            )
        await session.flush()
        return key

    async def issue_token(
        self,
        session: AsyncSession,
        user: User,
        name: str,
        *,
        days: int | None,
        client: str,
    ) -> IssuedToken:
        longest = self.settings.auth_token_days
        if days is not None and not 1 <= days <= longest:
            raise InvalidInput(f"a token lives 1 to {longest} days", field="expiresInDays")
        key = await self._signing_key(session)
        now_s = self.clock.now_ms() // 1000
        expires_s = now_s + (days or longest) * 86_400
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": user.username,
            "tenant": user.tenant_id,
            "jti": jti,
            "iat": now_s,
            "exp": expires_s,
        }
        token = jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})
        row = ApiToken(
            jti=jti,
            user_id=user.id,
            name=name,
            kid=key.kid,
            created_at=_utc(now_s * 1000),
            expires_at=_utc(expires_s * 1000),
        )
        session.add(row)
        record_audit(
            session,
            tenant=user.tenant_id,
            actor=user.username,
            action="token.create",
            target=jti,
            client=client,
            name=name,
        )
        await session.flush()
        return IssuedToken(token, row)

    async def token_subject(self, token: str) -> Subject:
        """The subject of a bearer JWT: signed by an unretired key, not expired, not revoked,
        its user enabled. Unauthenticated (without saying which check failed) otherwise."""
        refused = Unauthenticated("the API token is not valid")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise refused from None
        if not isinstance(kid, str):
            raise refused
        async with self.database.sessions() as session:
            key = await session.get(SigningKey, kid)
            if key is None or key.retired_at is not None:
                raise refused
            try:
                claims = jwt.decode(
                    token,
                    key.secret,
                    algorithms=[ALGORITHM],
                    issuer=ISSUER,
                    # Times are checked below on this service's clock (one clock for all).
                    options={
                        "require": ["exp", "iat", "jti", "sub"],
                        "verify_exp": False,
                        "verify_iat": False,
                    },
                )
            except jwt.PyJWTError:
                raise refused from None
            exp = claims["exp"]
            if not isinstance(exp, int) or exp * 1000 <= self.clock.now_ms():
                raise refused
            found = (
                await session.execute(
                    sa.select(ApiToken, User)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.jti == str(claims["jti"]))
                )
            ).first()
            if found is None:
                raise refused
            row, user = found[0], found[1]
            if row.revoked_at is not None or user.disabled or user.username != claims["sub"]:
                raise refused
            if row.expires_at <= self.now():
                raise refused
            return await self.subject_of(user)

    # -- kiosk links --------------------------------------------------------------------------

    async def kiosk_subject(self, token: str) -> Subject:
        refused = Unauthenticated("the kiosk link is not valid")
        if not token.startswith(KIOSK_PREFIX) or len(token) > 200:
            raise refused
        async with self.database.sessions() as session:
            link = await session.scalar(
                sa.select(KioskLink).where(KioskLink.token_hash == digest(token))
            )
            if link is None or link.revoked_at is not None:
                raise refused
            board = await session.scalar(
                sa.select(Dashboard).where(
                    Dashboard.tenant_id == link.tenant_id, Dashboard.uid == link.dashboard_uid
                )
            )
            rotation: frozenset[str] = frozenset()
            if board is not None and board.rotation:
                rotation = frozenset(str(uid) for uid in board.rotation.get("dashboards", []))
            return Subject(
                user=f"kiosk:{link.id}",
                tenant=link.tenant_id,
                privileges=frozenset({Privilege.VIEW_DASHBOARD}),
                visible_objects=await self.visibility.visible_objects(
                    link.tenant_id, link.created_by
                ),
                kiosk_dashboard=link.dashboard_uid,
                kiosk_rotation=rotation,
            )

    async def create_kiosk_link(
        self,
        session: AsyncSession,
        tenant: TenantId,
        wallboard: str,
        name: str,
        *,
        actor: str,
        client: str,
    ) -> tuple[KioskLink, str]:
        board = await session.scalar(
            sa.select(Dashboard).where(Dashboard.tenant_id == tenant, Dashboard.uid == wallboard)
        )
        if board is None or board.kind is not DashboardKind.WALLBOARD:
            raise InvalidInput(
                f"no wallboard {wallboard!r} in tenant {tenant!r}", field="wallboard"
            )
        token = new_token(KIOSK_PREFIX)
        link = KioskLink(
            tenant_id=tenant,
            token_hash=digest(token),
            dashboard_uid=wallboard,
            name=name,
            created_by=actor,
            created_at=self.now(),
        )
        session.add(link)
        await session.flush()
        record_audit(
            session,
            tenant=tenant,
            actor=actor,
            action="kiosk.create",
            target=str(link.id),
            client=client,
            wallboard=wallboard,
            name=name,
        )
        return link, token
