"""Entry point: `flask --app app ...` finds the application here."""

from tracker import create_app

app = create_app()
