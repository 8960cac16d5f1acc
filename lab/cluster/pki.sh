# shellcheck shell=bash disable=SC2034
# PKI and kubeconfigs of the lab cluster, made with openssl (sourced by up.sh).
# One cluster CA signs every serving and client certificate; a separate RSA key pair
# signs service-account tokens; the egress-guardian interception CA is separate too.

PKI="$EV_STATE/pki"

# mkcert NAME SUBJECT EKU [SANS]: EC P-256 key + certificate signed by the cluster CA.
mkcert() {
	local name="$1" subj="$2" eku="$3" sans="${4:-}"
	[[ -f "$PKI/$name.crt" ]] && return 0
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subj" \
		-keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 365 -out "$PKI/$name.crt" -extfile <(
			printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
			printf 'extendedKeyUsage=%s\n' "$eku"
			[[ -n "$sans" ]] && printf 'subjectAltName=%s\n' "$sans"
		) 2>/dev/null
	rm -f "$PKI/$name.csr"
	chmod 0600 "$PKI/$name.key"
}

# mkkubeconfig FILE CERTNAME [SERVER]
mkkubeconfig() {
	local file="$1" cert="$2" server="${3:-https://127.0.0.1:6443}"
	write_if_changed "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: egress-lab
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$cert.crt")
    client-key-data: $(base64 -w0 "$PKI/$cert.key")
contexts:
- name: egress-lab
  context: {cluster: egress-lab, user: $cert}
current-context: egress-lab
EOF
	chmod 0600 "$file"
}

make_pki() {
	mkdir -p "$PKI" "$EV_STATE/kubeconfig"
	chmod 0700 "$PKI"
	if [[ ! -f "$PKI/ca.crt" ]]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
			-subj "/CN=egress-lab-cluster-ca" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature 2>/dev/null
	fi
	[[ -f "$PKI/sa.key" ]] || {
		openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
		openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	}
	local sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
	sans+=",DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$NODE_NAME"
	sans+=",IP:127.0.0.1,IP:$NODE_IP,IP:$APISERVER_SVC_IP"
	mkcert apiserver "/CN=kube-apiserver" serverAuth "$sans"
	mkcert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
	mkcert kubelet "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME,IP:$NODE_IP,IP:127.0.0.1"
	mkcert admin "/O=system:masters/CN=egress-lab-admin" clientAuth
	mkcert controller-manager "/CN=system:kube-controller-manager" clientAuth
	mkcert scheduler "/CN=system:kube-scheduler" clientAuth
	mkcert node "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
	mkcert kube-proxy "/CN=system:kube-proxy" clientAuth
	mkcert kube-router "/CN=egress-lab:kube-router" clientAuth

	mkkubeconfig "$KUBECONFIG_ADMIN" admin "https://$NODE_IP:6443"
	mkkubeconfig "$EV_STATE/kubeconfig/controller-manager" controller-manager
	mkkubeconfig "$EV_STATE/kubeconfig/scheduler" scheduler
	mkkubeconfig "$EV_STATE/kubeconfig/kubelet" node
	mkkubeconfig "$EV_STATE/kubeconfig/kube-proxy" kube-proxy
	mkkubeconfig "$EV_STATE/kubeconfig/kube-router" kube-router

	# The egress-guardian's interception CA (RSA: mitmproxy signs leaf certificates with it);
	# guardian-ca.pem = key + certificate, the form mitmproxy expects in its confdir.
	if [[ ! -f "$PKI/guardian-ca.pem" ]]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/O=egress-lab/CN=egress-guardian interception CA" \
			-keyout "$PKI/guardian-ca.key" -out "$PKI/guardian-ca.crt" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
		cat "$PKI/guardian-ca.key" "$PKI/guardian-ca.crt" >"$PKI/guardian-ca.pem"
		chmod 0600 "$PKI/guardian-ca.pem" "$PKI/guardian-ca.key"
	fi
}
