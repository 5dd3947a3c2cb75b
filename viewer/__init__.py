"""What visitors run: the site's templates and JS, and the live tour server."""
