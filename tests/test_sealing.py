"""Sealed secrets: readable back with SECRET_KEY or a fallback, by their own purpose only."""

from tracker import sealing

OLD_KEY = "the-old-secret-key-" + "o" * 40
NEW_KEY = "the-new-secret-key-" + "n" * 40
VALUE = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_a_sealed_value_opens_to_itself_and_does_not_show_it(app):
    with app.app_context():
        sealed = sealing.seal(sealing.TOTP_SECRET, VALUE)
        assert VALUE not in sealed and VALUE.lower() not in sealed.lower()
        assert sealing.unseal(sealing.TOTP_SECRET, sealed) == VALUE
        assert sealing.seal(sealing.TOTP_SECRET, VALUE) != sealed  # a fresh IV each time


def test_each_purpose_has_its_own_key(app):
    with app.app_context():
        sealed = sealing.seal(sealing.FEED_TOKEN, VALUE)
        assert sealing.unseal(sealing.TOTP_SECRET, sealed) is None
        assert sealing.unseal(sealing.FEED_TOKEN, sealed) == VALUE


def test_tampered_or_foreign_values_do_not_open(app):
    with app.app_context():
        sealed = sealing.seal(sealing.TOTP_SECRET, VALUE)
        flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
        for bad in (flipped, "", "not sealed at all", VALUE):
            assert sealing.unseal(sealing.TOTP_SECRET, bad) is None


def test_the_old_key_opens_only_while_it_is_among_the_fallbacks(app):
    app.config.update(SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[])
    with app.app_context():
        sealed = sealing.seal(sealing.TOTP_SECRET, VALUE)
    app.config.update(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY])
    with app.app_context():
        assert sealing.unseal(sealing.TOTP_SECRET, sealed) == VALUE
        resealed = sealing.reseal(sealing.TOTP_SECRET, sealed)
    app.config.update(SECRET_KEY_FALLBACKS=[])
    with app.app_context():
        assert sealing.unseal(sealing.TOTP_SECRET, sealed) is None
        assert sealing.unseal(sealing.TOTP_SECRET, resealed) == VALUE  # sealed with the new key
