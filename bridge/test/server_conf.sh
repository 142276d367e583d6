# SPDX-License-Identifier: Apache-2.0
# Sourced by smoke.sh and edge.sh: write_server_conf KIND NAME writes
# $WORK/server.conf for one nats-server with JetStream on 127.0.0.1:$PORT,
# an admin user and a bridge user granted exactly what a bridge with one
# lane of KIND (art or sig) on stream MPBS_<KIND>_<NAME> needs, and their
# password files $WORK/admin.pw and $WORK/bridge.pw.
write_server_conf() {
	local kind=$1 name=$2
	local stream=MPBS_${kind^^}_$name durable=$kind-$name
	cat > "$WORK/server.conf" <<CONF
listen: 127.0.0.1:$PORT
jetstream { store_dir: "$WORK/js" }
accounts {
  APP: {
    jetstream: enabled
    users: [
      { user: admin, password: adminpw }
      { user: bridge, password: bridgepw, permissions: {
          publish: { allow: [ "mpbs.$kind.$name", "\$JS.API.CONSUMER.MSG.NEXT.$stream.$durable",
                              "\$JS.ACK.$stream.$durable.>", "\$JS.API.CONSUMER.INFO.$stream.$durable",
                              "\$JS.API.STREAM.PURGE.$stream", "\$JS.API.STREAM.MSG.GET.$stream" ] }
          subscribe: { allow: [ "_INBOX.bridge.>" ] } } }
    ]
  }
}
CONF
	echo adminpw > "$WORK/admin.pw"
	echo bridgepw > "$WORK/bridge.pw"
}
