"""Enrollment tokens for technicians: one single-use token per host, made over the API (`fernwart deploy`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from fernwart.collector.api.inputs import ID_MAX, SafeStr
from fernwart.collector.deps import DB, Now, Tech
from fernwart.collector.services import enrollment

router = APIRouter(prefix="/api/v1", tags=["technicians"])


class EnrollmentTokenIn(BaseModel):
    customer: SafeStr = Field(min_length=1, max_length=200, description="an existing customer")
    ttl: int = Field(default=3600, ge=1, le=int(enrollment.MAX_TTL.total_seconds()),
                     description="seconds the token stays valid; default one hour")
    replace_host: SafeStr | None = Field(default=None, min_length=1, max_length=255,
                                         description="may take over this existing host of the customer")


class EnrollmentTokenOut(BaseModel):
    id: int
    token: str = Field(description="the secret, shown this once (fwe_...)")
    customer: str
    uses: int = 1
    expires_at: datetime
    replace_host: str | None


@router.post("/enrollment-tokens", status_code=201, response_model=EnrollmentTokenOut)
def create_token(body: EnrollmentTokenIn, db: DB, user: Tech, now: Now) -> EnrollmentTokenOut:
    """Create a single-use enrollment token for one host of a customer (level 2 and up, admins)."""
    issued = enrollment.issue(db, user, body.customer, timedelta(seconds=body.ttl), now, body.replace_host)
    db.commit()
    return EnrollmentTokenOut(id=issued.id, token=issued.token, customer=issued.customer,
                              expires_at=issued.expires_at, replace_host=issued.replace_host)


@router.post("/enrollment-tokens/{token_id}/revoke", status_code=204)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=ID_MAX)], db: DB, user: Tech, now: Now) -> Response:
    """Revoke an enrollment token (a deploy that failed before the host enrolled revokes its own)."""
    enrollment.revoke(db, user, token_id, now)
    db.commit()
    return Response(status_code=204)
