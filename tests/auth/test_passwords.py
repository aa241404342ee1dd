"""argon2id hashing and the password policy."""

from __future__ import annotations

from minemap.auth.passwords import (
    default_hasher,
    generate_password,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)


def test_default_hash_is_argon2id_with_rfc9106_parameters():
    digest = hash_password("a long enough passphrase")
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(digest, "a long enough passphrase")
    assert not verify_password(digest, "a long enough passphrasE")
    assert not needs_rehash(digest)
    assert hash_password("a long enough passphrase") != digest  # fresh salt


def test_composed_and_decomposed_accents_are_one_password(fast_hasher):
    composed, decomposed = "пароль-ї-é-довгий", "пароль-ї-e\u0301-довгий"
    assert composed != decomposed
    assert verify_password(hash_password(composed, hasher=fast_hasher), decomposed)


def test_unreadable_hashes_never_match():
    assert not verify_password("", "x")
    assert not verify_password("$argon2id$garbage", "x")
    assert needs_rehash("plain-text-password", hasher=default_hasher())


def test_policy_lists_every_problem_without_the_password():
    assert password_problems("correct horse battery") == []
    problems = password_problems("     ", name="olena")
    assert problems == [
        "a password needs at least 12 characters",
        "a password cannot be only spaces",
    ]
    assert password_problems("x" * 1025)[0].startswith("a password may have at most 1024")
    assert password_problems("Olena.Kovalenko", name="olena.kovalenko") == [
        "the password cannot be the account name"
    ]


def test_generated_passwords_are_long_and_different():
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(password_problems(p) == [] for p in passwords)
