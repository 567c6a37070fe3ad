# Sourced by the recipes that read an npm package (not a recipe itself).
# npm_tarball SAVED PACKAGE VERSION OUT: copy SAVED (a tarball fetched before
# with npm pack) to OUT, or, when SAVED is empty, npm pack PACKAGE@VERSION into
# OUT (installing Debian npm if needed).
npm_tarball() {
    if [ -n "$1" ]; then
        cp "$1" "$4"
        return
    fi
    command -v npm >/dev/null || apt-get install -y --no-install-recommends npm
    (cd "$(dirname "$4")" && npm pack --silent "$2@$3" >/dev/null && mv "$2-$3.tgz" "$4")
}
