"""Simulator of UNHCR's DTP gateway (Azure API Management in front of proGres v4).

Both directions of API.md §3: it receives what casebridge POSTs to DTP (checking the
APIM subscription key and a stand-in for the TLS client certificate) and records it, and
it pushes DTP -> casebridge referral and decision webhooks on request.
"""

__version__ = "0.1.0"
