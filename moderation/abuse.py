"""Abusive-language detection on visitors' messages.

A short default list of insults and slurs plus each brand's own list
(Brand.flagged_words), matched as whole words after folding case, accents
and common letter-for-digit swaps ("1d10t"). A flagged message is still
stored and delivered: it is marked for the expert, never silently dropped.

Why our own list rather than a library: the maintained ML filters
(alt-profanity-check) pull scikit-learn into every server process, and the
word-list libraries on PyPI have not been updated in years; a list each brand
can extend fits a moderation tool better. docs/moderation.md says so too.
"""

import re
import unicodedata

DEFAULT_WORDS = {
    "idiot", "stupid", "moron", "dumbass", "asshole", "bastard", "bitch", "bullshit", "crap",
    "cunt", "dick", "dickhead", "fuck", "fucker", "fucking", "motherfucker", "retard", "shit",
    "shithead", "slut", "whore", "wanker", "twat", "prick", "scumbag", "loser", "kys",
}
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
WORD = re.compile(r"[a-z]+")


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.translate(LEET)


def brand_words(flagged_words: str) -> set[str]:
    return {fold(line.strip()) for line in flagged_words.splitlines() if line.strip()}


def is_abusive(text: str, extra_words: set[str] = frozenset()) -> bool:
    """True when the text contains a listed word (or a listed phrase, for multi-word entries)."""
    folded = fold(text)
    words = set(WORD.findall(folded))
    # Repeated letters ("stuuupid") fold to two at most, then to one.
    squeezed = {re.sub(r"(.)\1+", r"\1", w) for w in words}
    vocabulary = DEFAULT_WORDS | {w for w in extra_words if " " not in w}
    if (words | squeezed) & vocabulary:
        return True
    return any(phrase in folded for phrase in extra_words if " " in phrase)
