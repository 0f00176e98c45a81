import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_createsuperuser_makes_an_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "organiser-password-1")
    call_command("createsuperuser", "--noinput", "--email", "chief@event.test", verbosity=0)

    user = User.objects.get(email="chief@event.test")
    assert user.role == Role.ADMIN
    assert user.is_staff and user.is_superuser
    assert user.check_password("organiser-password-1")


def test_participants_are_not_staff(team):
    assert not team.user.is_staff
    assert not team.user.has_perm("market.change_company")


def test_password_is_stored_hashed_in_password_hash(team):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT password_hash FROM users WHERE id = %s",
            [team.user.pk.hex if connection.vendor == "sqlite" else team.user.pk],
        )
        (stored,) = cursor.fetchone()
    assert stored.startswith("md5$")  # the test hasher; production uses Argon2
    assert "correct-horse" not in stored


def test_email_is_unique_whatever_the_case_at_the_database(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email=team.user.email.upper(), password="x")])


def test_role_outside_the_two_roles_is_refused_by_the_database(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=team.user.pk).update(role="superhero")


def test_argon2id_at_owasp_settings_is_the_production_hasher():
    from argon2 import extract_parameters

    from accounts.hashers import Argon2PasswordHasher
    from brainstorm import settings as production

    assert production.PASSWORD_HASHERS[0] == "accounts.hashers.Argon2PasswordHasher"
    encoded = Argon2PasswordHasher().encode("a long team password", Argon2PasswordHasher().salt())
    parameters = extract_parameters(encoded.removeprefix("argon2"))
    assert (parameters.type.name, parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        "ID",
        19456,
        2,
        1,
    )
    assert Argon2PasswordHasher().verify("a long team password", encoded)


def test_a_password_hashed_with_djangos_argon2_settings_still_signs_in_and_is_rehashed():
    from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2

    from accounts.hashers import Argon2PasswordHasher

    old = DjangoArgon2().encode("a long team password", DjangoArgon2().salt())
    assert Argon2PasswordHasher().verify("a long team password", old)
    assert Argon2PasswordHasher().must_update(old)
