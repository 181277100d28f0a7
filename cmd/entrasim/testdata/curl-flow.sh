#!/bin/sh
# The curl flow of issue 3 against a running emulator:
#   go run ./cmd/entrasim -addr 127.0.0.1:18080 &
#   sh cmd/entrasim/testdata/curl-flow.sh http://127.0.0.1:18080
# Over HTTPS (entrasim -tls -ca-out entrasim-ca.pem):
#   CURL_CA_BUNDLE=entrasim-ca.pem sh cmd/entrasim/testdata/curl-flow.sh https://127.0.0.1:18080
# Needs curl and jq. Exits non-zero on the first failing step.
set -eu
B=${1:-http://127.0.0.1:18080}

TENANT=$(curl -sf -X POST "$B/_sim/tenants" -H 'Content-Type: application/json' \
  -d '{"displayName":"Contoso","domain":"contoso-'"$$"'.example"}' | jq -r .id)
echo "tenant      $TENANT"

APP=$(curl -sf -X POST "$B/_sim/tenants/$TENANT/applications" -H 'Content-Type: application/json' \
  -d '{"displayName":"Automation","applicationPermissions":["Application.ReadWrite.All"],"secret":true}')
CLIENT_ID=$(echo "$APP" | jq -r .appId)
SECRET=$(echo "$APP" | jq -r .secretText)
echo "automation  $CLIENT_ID"

token() {
  curl -sf "$B/$TENANT/oauth2/v2.0/token" -d grant_type=client_credentials -d "client_id=$1" \
    --data-urlencode "client_secret=$2" --data-urlencode scope=https://graph.microsoft.com/.default | jq -r .access_token
}
TOKEN=$(token "$CLIENT_ID" "$SECRET")
echo "app-only token obtained"

NEW=$(curl -sf -X POST "$B/v1.0/applications" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"displayName":"Created with curl","signInAudience":"AzureADMyOrg"}')
NEW_ID=$(echo "$NEW" | jq -r .id)
NEW_APPID=$(echo "$NEW" | jq -r .appId)
echo "created     $NEW_APPID (object $NEW_ID)"

curl -sf -X POST "$B/v1.0/servicePrincipals" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"appId":"'"$NEW_APPID"'"}' > /dev/null
echo "service principal created"

NEW_SECRET=$(curl -sf -X POST "$B/v1.0/applications/$NEW_ID/addPassword" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"passwordCredential":{"displayName":"curl"}}' | jq -r .secretText)
echo "password added (hint $(echo "$NEW_SECRET" | cut -c1-3))"

NEW_TOKEN=$(token "$NEW_APPID" "$NEW_SECRET")
test -n "$NEW_TOKEN" && test "$NEW_TOKEN" != null
echo "token with the new secret obtained: OK"
