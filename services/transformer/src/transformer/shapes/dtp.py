"""DTP webhook shapes (flows P1, P4): the fields each mapping reads, with the types it assumes.

P1 is checked in two steps. The webhook (`interventions`, a list of objects with their numbers)
here at the door: without it no intervention can be answered, so the record is dead-lettered.
Each intervention's own fields inside the mapping: a wrongly typed intervention is rejected to
DTP ("invalid data") like any other bad intervention, and never holds back the others.
"""

from __future__ import annotations

from pydantic import Field

from transformer.shapes.fields import Reference, Scalar, Shape


class P1Head(Shape):
    progres_interventionnumber: Scalar = None


class P1Webhook(Shape):
    """`PrimeroOutgoingReferral`: the interventions and their numbers."""

    interventions: list[P1Head] | None = None


class P1Intervention(Shape):
    """One intervention of a P1 webhook: every key the mapping reads (DTP's dotted names)."""

    service: Scalar = Field(default=None, alias="interventiontype.progres_description")
    primero_id: Scalar = Field(default=None, alias="progres_primeroid")
    description: Scalar = Field(default=None, alias="progres_interventiondescription")
    reason: Scalar = Field(default=None, alias="progres_reasonforreferral")
    start_date: Scalar = Field(default=None, alias="progres_interventionstartdate")
    individual: Scalar = Field(default=None, alias="individuals.progres_id")
    group: Reference = Field(default=None, alias="individuals.progres_registrationgroupid")
    given_name: Scalar = Field(default=None, alias="individuals.progres_givenname")
    middle_name: Scalar = Field(default=None, alias="individuals.progres_middlename")
    family_name: Scalar = Field(default=None, alias="individuals.progres_familyname")
    common_name: Scalar = Field(default=None, alias="individuals.progres_commonyusedname")
    birth_date: Scalar = Field(default=None, alias="individuals.progres_dateofbirth")
    sex: Scalar = Field(default=None, alias="individuals.progres_sex")
    phone: Scalar = Field(default=None, alias="individuals.progres_primaryphonenumber")
    level1: Reference = Field(default=None, alias="individuals.progres_coalocationlevel1")
    level2: Reference = Field(default=None, alias="individuals.progres_coalocationlevel2")
    level3: Reference = Field(default=None, alias="individuals.progres_coalocationlevel3")
    level4: Reference = Field(default=None, alias="individuals.progres_coalocationlevel4")
    level5: Reference = Field(default=None, alias="individuals.progres_coalocationlevel5")
    level6: Scalar = Field(default=None, alias="individuals.progres_coalocationlevel6")
    language: Reference = Field(default=None, alias="languages.progres_languagecodeid")
    user_title: Scalar = Field(default=None, alias="user.title")
    user_partner: Reference = Field(default=None, alias="user.progres_partner")
    user_phone: Scalar = Field(default=None, alias="user.mobilephone")
    user_email: Scalar = Field(default=None, alias="user.internalemailaddress")


class P4Intervention(Shape):
    orgreferralid: Scalar = Field(default=None, alias="progres_orgreferralid")
    number: Scalar = Field(default=None, alias="progres_interoperabilityreferralnumber")
    decision: Scalar = Field(default=None, alias="progres_reviewdecision")
    reason: Scalar = Field(default=None, alias="progres_interoperabiltyreferralrejectionreason")
    comment: Scalar = Field(default=None, alias="progres_interoperabilityreferralrejectionomment")
    comment_spelt: Scalar = Field(
        default=None, alias="progres_interoperabilityreferralrejectioncomment"
    )


class P4Webhook(Shape):
    """`PrimeroIncomingReferralDecision`."""

    interventions: list[P4Intervention] | None = None
