"""``/api/v1/auth``: login, the caller (``me``), logout, API tokens and their signing keys.

The login sets the ``wallboard_session`` cookie (HttpOnly, SameSite=Lax, Secure when the
request came over https); changes made through that cookie must carry ``X-CSRF-Token``, one of
the tokens ``login`` and ``me`` hand out.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from wallboard.core.errors import NotFound, PermissionDenied, Unauthenticated
from wallboard.db.models import ApiToken, SigningKey, User
from wallboard.identity.errors import CsrfFailed
from wallboard.identity.oidc import FLOW_COOKIE, FLOW_SECONDS, Flow
from wallboard.identity.policy import CSRF_HEADER, SESSION_COOKIE, client_address
from wallboard.identity.roles import privileges_of
from wallboard.identity.secrets import csrf_token
from wallboard.identity.service import Identity, LoginResult
from wallboard.web.auth.schemas import KeyRead, LoginBody, Me, TokenCreate, TokenIssued, TokenRead
from wallboard.web.deps import CommitRoute, IdentityDep, PolicyDep, SessionDep, SubjectDep
from wallboard.web.errors import ERROR_RESPONSES
from wallboard.web.policy import Privilege, Subject, WriteAction

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)
# Routes writing through the request's session (committed at the edge).
committed = APIRouter(
    prefix="/auth", tags=["auth"], route_class=CommitRoute, responses=ERROR_RESPONSES
)


def me_of(user: User, csrf: str | None, expires: dt.datetime | None) -> Me:
    return Me(
        user=user.username,
        display_name=user.display_name,
        tenant=user.tenant_id,
        roles=list(user.roles),
        privileges=sorted(p.value for p in privileges_of(user.roles)),
        csrf_token=csrf,
        session_expires=expires,
    )


def set_session_cookie(response: Response, request: Request, result: LoginResult) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        # A session that expires lives in the browser no longer than on the server; a wall
        # display's (no expiry) survives a browser restart for 400 days (the browsers' cap).
        max_age=None if result.expires_at is not None else 400 * 86_400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@router.post(
    "/login",
    summary="Log in with a username and password: sets the session cookie",
    responses={429: {"description": "too many attempts (Retry-After says how long to wait)"}},
)
async def login(body: LoginBody, request: Request, response: Response, identity: IdentityDep) -> Me:
    result = await identity.login(body.username, body.password, client_address(request))
    set_session_cookie(response, request, result)
    response.headers["Cache-Control"] = "no-store"
    return me_of(result.user, result.csrf_token, result.expires_at)


@router.get("/me", summary="The logged-in caller, with a fresh CSRF token")
async def me(request: Request, response: Response, identity: IdentityDep) -> Me:
    response.headers["Cache-Control"] = "no-store"
    cookie = request.cookies.get(SESSION_COOKIE)
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        subject = await identity.token_subject(authorization[7:].strip())
        return me_of(await _user(identity, subject), None, None)
    if not cookie:
        raise Unauthenticated("not logged in")
    found = await identity.session_of(cookie, csrf=None, check_csrf=False)
    assert found.user is not None
    assert found.session is not None
    return me_of(
        found.user, csrf_token(found.session.csrf_secret), identity.session_end(found.session)
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End the session")
async def logout(request: Request, identity: IdentityDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            await identity.session_of(
                cookie, csrf=request.headers.get(CSRF_HEADER), check_csrf=True
            )
        except CsrfFailed:
            raise
        except Unauthenticated:
            pass  # already ended: only the cookie is left to clear
        else:
            await identity.logout(cookie, client_address(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


async def _user(identity: Identity, subject: Subject) -> User:
    async with identity.database.sessions() as session:
        user = await session.scalar(sa.select(User).where(User.username == subject.user))
    if user is None or subject.kiosk_dashboard is not None:
        raise Unauthenticated("log in as a user first")
    return user


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get(
    "/oidc/login",
    summary="Start an OpenID Connect login: redirects to the provider",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
)
async def oidc_login(request: Request, identity: IdentityDep) -> RedirectResponse:
    if identity.oidc is None:
        raise NotFound("OpenID Connect login is not configured (WALLBOARD_OIDC_ISSUER)")
    url, flow = await identity.oidc.start(_callback_url(request))
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        FLOW_COOKIE,
        flow.cookie(),
        max_age=FLOW_SECONDS,
        path="/api/v1/auth/oidc",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get(
    "/oidc/callback",
    name="oidc_callback",
    summary="Where the provider sends the browser back: sets the session cookie",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
)
async def oidc_callback(
    request: Request,
    identity: IdentityDep,
    code: Annotated[str, Query(max_length=4096)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
) -> RedirectResponse:
    if identity.oidc is None:
        raise NotFound("OpenID Connect login is not configured (WALLBOARD_OIDC_ISSUER)")
    username = await identity.oidc.finish(
        code=code,
        state=state,
        flow=Flow.from_cookie(request.cookies.get(FLOW_COOKIE)),
        redirect_url=_callback_url(request),
        now_s=identity.clock.now_ms() // 1000,
    )
    result = await identity.login_external(username, client_address(request), method="oidc")
    response = RedirectResponse("/", status_code=status.HTTP_302_FOUND)
    response.delete_cookie(FLOW_COOKIE, path="/api/v1/auth/oidc")
    set_session_cookie(response, request, result)
    return response


def _token_read(row: ApiToken, user: str) -> TokenRead:
    return TokenRead(
        jti=row.jti,
        name=row.name,
        user=user,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def _caller(session: SessionDep, subject: Subject) -> User:
    user = await session.scalar(sa.select(User).where(User.username == subject.user))
    if user is None or subject.kiosk_dashboard is not None:
        raise Unauthenticated("API tokens belong to users: log in as one")
    return user


@committed.post(
    "/tokens", status_code=status.HTTP_201_CREATED, summary="Issue an API token to the caller"
)
async def create_token(
    body: TokenCreate,
    request: Request,
    session: SessionDep,
    subject: SubjectDep,
    identity: IdentityDep,
) -> TokenIssued:
    user = await _caller(session, subject)
    issued = await identity.issue_token(
        session, user, body.name, days=body.expires_in_days, client=client_address(request)
    )
    read = _token_read(issued.row, user.username)
    return TokenIssued(**read.model_dump(), token=issued.token)


@committed.get("/tokens", summary="The caller's API tokens (never the tokens themselves)")
async def list_tokens(session: SessionDep, subject: SubjectDep) -> list[TokenRead]:
    user = await _caller(session, subject)
    rows = await session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
    )
    return [_token_read(row, user.username) for row in rows]


@committed.delete(
    "/tokens/{jti}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API token (the caller's own; any of the tenant's with manage-users)",
)
async def revoke_token(
    jti: Annotated[str, Path(max_length=64)],
    request: Request,
    session: SessionDep,
    subject: SubjectDep,
    identity: IdentityDep,
) -> None:
    from wallboard.identity.audit import record_audit

    found = (
        await session.execute(
            sa.select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.jti == jti)
        )
    ).first()
    if found is None:
        raise NotFound(f"no API token {jti!r}", jti=jti)
    row, owner = found[0], found[1]
    if owner.username != subject.user and not (
        subject.may(Privilege.MANAGE_USERS) and subject.tenant in (None, owner.tenant_id)
    ):
        raise NotFound(f"no API token {jti!r}", jti=jti)
    if subject.kiosk_dashboard is not None:
        raise PermissionDenied("a kiosk link is read-only")
    if row.revoked_at is None:
        row.revoked_at = identity.now()
        record_audit(
            session,
            tenant=owner.tenant_id,
            actor=subject.user,
            action="token.revoke",
            target=jti,
            client=client_address(request),
            user=owner.username,
        )


def _key_read(key: SigningKey, signing: str | None) -> KeyRead:
    return KeyRead(
        kid=key.kid,
        created_at=key.created_at,
        retired_at=key.retired_at,
        signing=key.kid == signing,
    )


async def _keys(session: SessionDep) -> list[KeyRead]:
    keys = (
        await session.scalars(
            sa.select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
        )
    ).all()
    signing = next((k.kid for k in keys if k.retired_at is None), None)
    return [_key_read(key, signing) for key in keys]


def _check_keys(policy: PolicyDep, subject: Subject, uid: str, action: WriteAction) -> None:
    policy.check_write(subject, subject.tenant or "", "signing-key", uid, action=action)  # type: ignore[arg-type]


@committed.get("/keys", summary="The keys signing API tokens, newest (signing) first")
async def list_keys(session: SessionDep, subject: SubjectDep, policy: PolicyDep) -> list[KeyRead]:
    _check_keys(policy, subject, "*", WriteAction.CHANGE)
    return await _keys(session)


@committed.post(
    "/keys/rotate",
    status_code=status.HTTP_201_CREATED,
    summary="A new signing key; older ones still verify until retired",
)
async def rotate_key(
    request: Request,
    session: SessionDep,
    subject: SubjectDep,
    policy: PolicyDep,
    identity: IdentityDep,
) -> KeyRead:
    _check_keys(policy, subject, "*", WriteAction.CREATE)
    key = await identity.rotate_key(session, actor=subject.user, client=client_address(request))
    return _key_read(key, key.kid)


@committed.delete(
    "/keys/{kid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Retire a signing key: the tokens it signed stop working",
)
async def retire_key(
    kid: Annotated[str, Path(max_length=64)],
    request: Request,
    session: SessionDep,
    subject: SubjectDep,
    policy: PolicyDep,
    identity: IdentityDep,
) -> None:
    _check_keys(policy, subject, kid, WriteAction.DELETE)
    await identity.retire_key(session, kid, actor=subject.user, client=client_address(request))
