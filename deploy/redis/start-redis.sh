#!/bin/sh
# Starts redis-server with the Dropwire ACL users: renders users.acl.template with the
# passwords from the environment (stored as sha256 hashes, never in plain text) into a
# private file, then execs redis-server with the arguments given plus --aclfile.
# There is no default password: each REDIS_*_PASSWORD must be set.
#   REDIS_ADMIN_PASSWORD REDIS_INGEST_PASSWORD REDIS_ENRICH_PASSWORD REDIS_PUBLISH_PASSWORD
#   DROPWIRE_STREAM_PREFIX (default dropwire)   REDIS_ACL_FILE (default /tmp/users.acl)
set -eu

fail() {
    echo "start-redis: $*" >&2
    exit 2
}

for name in ADMIN INGEST ENRICH PUBLISH; do
    eval "value=\${REDIS_${name}_PASSWORD:-}"
    [ -n "$value" ] || fail "REDIS_${name}_PASSWORD is not set (see deploy/.env.example)"
    [ "${#value}" -ge 16 ] || fail "REDIS_${name}_PASSWORD is shorter than 16 characters"
done

prefix="${DROPWIRE_STREAM_PREFIX:-dropwire}"
case "$prefix" in
    "" | *[!A-Za-z0-9_.-]*) fail "DROPWIRE_STREAM_PREFIX may hold only letters, digits, '.', '_', '-'" ;;
esac

password_hash() {
    printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

template="${REDIS_ACL_TEMPLATE:-$(dirname "$0")/users.acl.template}"
acl="${REDIS_ACL_FILE:-/tmp/users.acl}"
umask 077
sed -e '/^#/d' -e '/^[[:space:]]*$/d' \
    -e "s/{{PREFIX}}/$prefix/g" \
    -e "s/{{ADMIN_HASH}}/$(password_hash "$REDIS_ADMIN_PASSWORD")/g" \
    -e "s/{{INGEST_HASH}}/$(password_hash "$REDIS_INGEST_PASSWORD")/g" \
    -e "s/{{ENRICH_HASH}}/$(password_hash "$REDIS_ENRICH_PASSWORD")/g" \
    -e "s/{{PUBLISH_HASH}}/$(password_hash "$REDIS_PUBLISH_PASSWORD")/g" \
    "$template" >"$acl"
if grep -q '{{' "$acl"; then
    fail "unrendered placeholder in $acl"
fi

exec redis-server "$@" --aclfile "$acl"
