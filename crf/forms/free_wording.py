"""The wording free to reproduce of the PROTOCOL §8 instruments and grades:
the published descriptors of each level, by form field name.

MSTS 1993, lower extremity (Enneking et al., Clin Orthop 1993): descriptors at
5, 3, 1 and 0; 4 and 2 are the intermediate levels. Mirels (Clin Orthop 1989).
ECOG performance status (Oken et al. 1982; 5, dead, is not a level here: the
model allows 0–4). ASA physical status (I–V; VI, brain-dead donor, does not
apply). Clavien-Dindo (Dindo et al., Ann Surg 2004), in short.
"""

MSTS_LEVELS = {
    "pain": {
        5: "No pain",
        3: "Modest, not disabling",
        1: "Moderate, intermittently disabling",
        0: "Severe, continuously disabling",
    },
    "function": {
        5: "No restriction",
        3: "Recreational restriction",
        1: "Partial occupational restriction",
        0: "Total occupational restriction",
    },
    "emotional_acceptance": {
        5: "Enthused",
        3: "Satisfied",
        1: "Accepts",
        0: "Dislikes",
    },
    "supports": {
        5: "None",
        3: "Brace",
        1: "One cane or crutch",
        0: "Two canes or crutches",
    },
    "walking": {5: "Unlimited", 3: "Limited", 1: "Inside only", 0: "Unable unaided"},
    "gait": {
        5: "Normal",
        3: "Minor cosmetic",
        1: "Major cosmetic",
        0: "Major handicap",
    },
}

MIRELS_LEVELS = {
    "site": {1: "Upper limb", 2: "Lower limb", 3: "Peritrochanteric"},
    "pain": {1: "Mild", 2: "Moderate", 3: "Functional"},
    "lesion": {1: "Blastic", 2: "Mixed", 3: "Lytic"},
    "size": {
        1: "Less than 1/3 of the bone's diameter",
        2: "1/3 to 2/3 of the diameter",
        3: "More than 2/3 of the diameter",
    },
}

ECOG_LEVELS = {
    0: "Fully active, able to carry on all pre-disease performance without restriction",
    1: "Restricted in physically strenuous activity but ambulatory and able to "
    "carry out work of a light or sedentary nature",
    2: "Ambulatory and capable of all self-care but unable to carry out any work "
    "activities; up and about more than 50% of waking hours",
    3: "Capable of only limited self-care; confined to bed or chair more than 50% "
    "of waking hours",
    4: "Completely disabled; cannot carry on any self-care; totally confined to "
    "bed or chair",
}

ASA_LEVELS = {
    1: "ASA I: a normal healthy patient",
    2: "ASA II: a patient with mild systemic disease",
    3: "ASA III: a patient with severe systemic disease",
    4: "ASA IV: a patient with severe systemic disease that is a constant threat "
    "to life",
    5: "ASA V: a moribund patient who is not expected to survive without the operation",
}

CLAVIEN_DINDO_LEVELS = {
    "I": "Deviation from the normal postoperative course without drugs (other "
    "than antiemetics, antipyretics, analgesics, diuretics, electrolytes and "
    "physiotherapy) or surgical, endoscopic or radiological intervention",
    "II": "Drug treatment other than that allowed for grade I, including blood "
    "transfusion and total parenteral nutrition",
    "IIIa": "Surgical, endoscopic or radiological intervention, not under "
    "general anaesthesia",
    "IIIb": "Surgical, endoscopic or radiological intervention under general "
    "anaesthesia",
    "IVa": "Life-threatening, needing intensive care: single-organ dysfunction",
    "IVb": "Life-threatening, needing intensive care: multi-organ dysfunction",
    "V": "Death of the patient",
}

FREE_LEVELS: dict[str, dict] = {
    **{f"msts_{name}": levels for name, levels in MSTS_LEVELS.items()},
    **{f"mirels_{name}": levels for name, levels in MIRELS_LEVELS.items()},
    "ecog": ECOG_LEVELS,
    "asa": ASA_LEVELS,
    "clavien_dindo": CLAVIEN_DINDO_LEVELS,
}
# Levels a free instrument leaves undescribed are named as what they are.
INTERMEDIATE = {"msts_"}
