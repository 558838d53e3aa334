"""proGres/DTP code tables used by the generator (from ``shared/reference/mappings``)."""

from __future__ import annotations

# progres-service-map-progres-to-primero.json: the only intervention types Flow 1-1 takes.
INTERVENTION_TYPES = ("Alternative Care", "BID", "BIA", "Family Tracing and Reunification")
# Outside the map: a referral with this type must end in a "Delivery Fail" feedback.
UNSUPPORTED_INTERVENTION_TYPES = ("Legal Assistance", "Education")
# progres-sex-map.json option-set codes (female, male, other, unknown).
SEX_CODES = ("125080000", "125080001", "125080002", "125080003")
# progres-language-map-progres-to-primero.json keys, plus one unmapped name.
LANGUAGES = (
    "Anyuak", "Acholi", "Amharic", "Bari", "Bembe", "Dinka, Northeastern",
    "Dinka, Southeastern;", "Nuer", "Somali", "Swahili", "Zande", "Afrikaans",
)  # fmt: skip
# progres-review-decision-codes.json; 125080003 is unmapped and passed through.
REVIEW_DECISIONS = ("125080000", "125080001", "125080003")
REJECTION_REASONS = ("125080000", "125080001", "125080002")
# Gambella location levels 1-3 as they appear in the referral samples.
LOCATION_LEVELS = (
    ("Gambela", "Agnuak", "Abobo"),
    ("Gambela", "Agnuak", "Gambela Zuria"),
    ("Gambela", "Nuer", "Akobo"),
    ("Gambela", "Itang Special", "Itang"),
    ("Gambela", "Majang", "Godere"),
)
PRIORITIES = ("125080000", "125080001", "125080002")
