# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""What the upstream Kubernetes components accept: command-line flags and component-config
fields, taken from the upstream reference documentation, with ``check_flags`` and
``check_config_fields`` so that a removed or misspelt flag or field (Tarmak's ``webook:``) fails
a unit test instead of being silently ignored by the component.

Sources (kubernetes/website, read on 2026-12-02 through the stored copies of the repository; a copy
is one revision of the file, identified below by the Kubernetes version it documents and the
evidence for that version):

- kube-apiserver flags: content/en/docs/reference/command-line-tools-reference/kube-apiserver.md,
  a copy documenting 1.35 (its --emulated-version reads "kube=1.32..1.35(default:1.35)").
- kube-scheduler flags: .../command-line-tools-reference/kube-scheduler.md, a copy documenting
  1.36 (--emulated-version "kube=1.33..1.36(default:1.36)").
- kubelet flags: .../command-line-tools-reference/kubelet.md, a copy documenting 1.34 (it lists
  --pod-infra-container-image "DEPRECATED: will be removed in 1.35"); for 1.35 and later the
  removal recorded in kubernetes/kubernetes CHANGELOG-1.35.md ("Removed the
  --pod-infra-container-image flag from kubelet command line") is applied (FLAG_CHANGES).
- kube-proxy flags: .../command-line-tools-reference/kube-proxy.md, a copy documenting 1.31 (its
  feature gate list has NFTablesProxyMode beta and DRAControlPlaneController alpha).
- KubeletConfiguration (kubelet.config.k8s.io/v1beta1): content/en/docs/reference/config-api/
  kubelet-config.v1beta1.md, a copy documenting 1.31 (its API links point at v1.31).
- KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1): .../config-api/
  kube-proxy-config.v1alpha1.md, a copy with the nftables and windowsRunAsService fields (1.31+).
- KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): .../config-api/
  kube-scheduler-config.v1.md, a copy documenting 1.35 (its API links point at v1.35).
- kube-controller-manager: no English copy documenting a supported minor could be read, so there is
  no flag reference for it (check_flags says so instead of guessing).

The copies are not all of the newest supported minor (1.37; see docs/artifacts.md): a flag or
field added after the documented version is reported as unknown, naming this reference, until
the list is extended from a newer copy of the same page. That errs on the safe side: nothing
misspelt passes.
"""
from __future__ import annotations

import difflib
import re

from ansible_collections.apron.cluster.plugins.module_utils._kubernetes_releases import SUPPORTED_KUBERNETES_MINORS


def _names(text):
    return frozenset(text.split())


class SettingsReferenceError(ValueError):
    """An unknown flag or field, an unknown component or kind, or an unsupported version."""


_WEBSITE = "kubernetes/website content/en/docs/reference/"
FLAG_SOURCES = {
    "kube-apiserver": (_WEBSITE + "command-line-tools-reference/kube-apiserver.md", "1.35"),
    "kube-scheduler": (_WEBSITE + "command-line-tools-reference/kube-scheduler.md", "1.36"),
    "kubelet": (_WEBSITE + "command-line-tools-reference/kubelet.md", "1.34"),
    "kube-proxy": (_WEBSITE + "command-line-tools-reference/kube-proxy.md", "1.31"),
}
NO_FLAG_REFERENCE = {
    "kube-controller-manager": "no English copy of command-line-tools-reference/kube-controller-manager.md "
                               "documenting a supported minor could be read (docs/artifacts.md)",
}

# Every flag (without the leading dashes) of the documented version.
FLAGS = {
    "kube-apiserver": _names("""
        admission-control admission-control-config-file advertise-address
        aggregator-reject-forwarding-redirect allow-metric-labels allow-metric-labels-manifest
        allow-privileged anonymous-auth api-audiences audit-log-batch-buffer-size
        audit-log-batch-max-size audit-log-batch-max-wait audit-log-batch-throttle-burst
        audit-log-batch-throttle-enable audit-log-batch-throttle-qps audit-log-compress
        audit-log-format audit-log-maxage audit-log-maxbackup audit-log-maxsize audit-log-mode
        audit-log-path audit-log-truncate-enabled audit-log-truncate-max-batch-size
        audit-log-truncate-max-event-size audit-log-version audit-policy-file
        audit-webhook-batch-buffer-size audit-webhook-batch-max-size audit-webhook-batch-max-wait
        audit-webhook-batch-throttle-burst audit-webhook-batch-throttle-enable
        audit-webhook-batch-throttle-qps audit-webhook-config-file audit-webhook-initial-backoff
        audit-webhook-mode audit-webhook-truncate-enabled audit-webhook-truncate-max-batch-size
        audit-webhook-truncate-max-event-size audit-webhook-version authentication-config
        authentication-token-webhook-cache-ttl authentication-token-webhook-config-file
        authentication-token-webhook-version authorization-config authorization-mode
        authorization-policy-file authorization-webhook-cache-authorized-ttl
        authorization-webhook-cache-unauthorized-ttl authorization-webhook-config-file
        authorization-webhook-version bind-address cert-dir client-ca-file contention-profiling
        coordinated-leadership-lease-duration coordinated-leadership-renew-deadline
        coordinated-leadership-retry-period cors-allowed-origins debug-socket-path
        default-not-ready-toleration-seconds default-unreachable-toleration-seconds
        delete-collection-workers disable-admission-plugins disable-http2-serving disabled-metrics
        egress-selector-config-file emulated-version emulation-forward-compatible
        enable-admission-plugins enable-aggregator-routing enable-bootstrap-token-auth
        enable-garbage-collector enable-logs-handler enable-priority-and-fairness
        encryption-provider-config encryption-provider-config-automatic-reload
        endpoint-reconciler-type etcd-cafile etcd-certfile etcd-compaction-interval
        etcd-count-metric-poll-period etcd-db-metric-poll-interval etcd-healthcheck-timeout
        etcd-keyfile etcd-prefix etcd-readycheck-timeout etcd-servers etcd-servers-overrides
        event-ttl external-hostname feature-gates goaway-chance help
        http2-max-streams-per-connection kubelet-certificate-authority kubelet-client-certificate
        kubelet-client-key kubelet-preferred-address-types kubelet-timeout
        kubernetes-service-node-port lease-reuse-duration-seconds livez-grace-period
        log-flush-frequency log-text-info-buffer-size log-text-split-stream logging-format
        max-connection-bytes-per-sec max-mutating-requests-inflight max-requests-inflight
        min-compatibility-version min-request-timeout oidc-ca-file oidc-client-id oidc-groups-claim
        oidc-groups-prefix oidc-issuer-url oidc-required-claim oidc-signing-algs oidc-username-claim
        oidc-username-prefix peer-advertise-ip peer-advertise-port peer-ca-file
        permit-address-sharing permit-port-sharing profiling proxy-client-cert-file
        proxy-client-key-file request-timeout requestheader-allowed-names
        requestheader-client-ca-file requestheader-extra-headers-prefix requestheader-group-headers
        requestheader-uid-headers requestheader-username-headers runtime-config
        runtime-config-emulation-forward-compatible secure-port
        service-account-extend-token-expiration service-account-issuer service-account-jwks-uri
        service-account-key-file service-account-lookup service-account-max-token-expiration
        service-account-signing-endpoint service-account-signing-key-file service-cluster-ip-range
        service-node-port-range show-hidden-metrics-for-version shutdown-delay-duration
        shutdown-send-retry-after shutdown-watch-termination-grace-period storage-backend
        storage-initialization-timeout storage-media-type strict-transport-security-directives
        tls-cert-file tls-cipher-suites tls-min-version tls-private-key-file tls-sni-cert-key
        token-auth-file tracing-config-file v version vmodule watch-cache watch-cache-sizes
    """),
    "kube-scheduler": _names("""
        allow-metric-labels allow-metric-labels-manifest authentication-kubeconfig
        authentication-skip-lookup authentication-token-webhook-cache-ttl
        authentication-tolerate-lookup-failure authorization-always-allow-paths
        authorization-kubeconfig authorization-webhook-cache-authorized-ttl
        authorization-webhook-cache-unauthorized-ttl bind-address cert-dir client-ca-file config
        contention-profiling disable-http2-serving disabled-metrics emulated-version feature-gates
        help http2-max-streams-per-connection kube-api-burst kube-api-content-type kube-api-qps
        kubeconfig leader-elect leader-elect-lease-duration leader-elect-renew-deadline
        leader-elect-resource-lock leader-elect-resource-name leader-elect-resource-namespace
        leader-elect-retry-period log-flush-frequency log-text-info-buffer-size
        log-text-split-stream logging-format master min-compatibility-version permit-address-sharing
        permit-port-sharing pod-max-in-unschedulable-pods-duration profiling
        requestheader-allowed-names requestheader-client-ca-file requestheader-extra-headers-prefix
        requestheader-group-headers requestheader-uid-headers requestheader-username-headers
        secure-port show-hidden-metrics-for-version tls-cert-file tls-cipher-suites
        tls-curve-preferences tls-min-version tls-private-key-file tls-sni-cert-key v version
        vmodule write-config-to
    """),
    "kubelet": _names("""
        address allowed-unsafe-sysctls anonymous-auth authentication-token-webhook
        authentication-token-webhook-cache-ttl authorization-mode
        authorization-webhook-cache-authorized-ttl authorization-webhook-cache-unauthorized-ttl
        bootstrap-kubeconfig cert-dir cgroup-driver cgroup-root cgroups-per-qos client-ca-file
        cloud-provider cluster-dns cluster-domain config config-dir container-log-max-files
        container-log-max-size container-runtime-endpoint contention-profiling cpu-cfs-quota
        cpu-cfs-quota-period cpu-manager-policy cpu-manager-policy-options
        cpu-manager-reconcile-period enable-controller-attach-detach enable-debugging-handlers
        enable-server enforce-node-allocatable event-burst event-qps eviction-hard
        eviction-max-pod-grace-period eviction-minimum-reclaim eviction-pressure-transition-period
        eviction-soft eviction-soft-grace-period exit-on-lock-contention
        experimental-allocatable-ignore-eviction experimental-mounter-path fail-cgroupv1
        fail-swap-on feature-gates file-check-frequency hairpin-mode healthz-bind-address
        healthz-port help hostname-override http-check-frequency image-credential-provider-bin-dir
        image-credential-provider-config image-gc-high-threshold image-gc-low-threshold
        image-service-endpoint kernel-memcg-notification kube-api-burst kube-api-content-type
        kube-api-qps kube-reserved kube-reserved-cgroup kubeconfig kubelet-cgroups
        local-storage-capacity-isolation lock-file log-flush-frequency log-text-info-buffer-size
        log-text-split-stream logging-format make-iptables-util-chains manifest-url
        manifest-url-header max-open-files max-pods maximum-dead-containers
        maximum-dead-containers-per-container memory-manager-policy minimum-container-ttl-duration
        minimum-image-ttl-duration node-ip node-labels node-status-max-images
        node-status-update-frequency oom-score-adj pod-cidr pod-infra-container-image
        pod-manifest-path pod-max-pids pods-per-core port protect-kernel-defaults provider-id
        qos-reserved read-only-port register-node register-with-taints registry-burst registry-qps
        reserved-cpus reserved-memory resolv-conf root-dir rotate-certificates
        rotate-server-certificates runonce runtime-cgroups runtime-request-timeout seccomp-default
        serialize-image-pulls streaming-connection-idle-timeout sync-frequency system-cgroups
        system-reserved system-reserved-cgroup tls-cert-file tls-cipher-suites tls-min-version
        tls-private-key-file topology-manager-policy topology-manager-policy-options
        topology-manager-scope v version vmodule volume-plugin-dir volume-stats-agg-period
    """),
    "kube-proxy": _names("""
        add_dir_header alsologtostderr bind-address bind-address-hard-fail cleanup cluster-cidr
        config config-sync-period conntrack-max-per-core conntrack-min conntrack-tcp-be-liberal
        conntrack-tcp-timeout-close-wait conntrack-tcp-timeout-established conntrack-udp-timeout
        conntrack-udp-timeout-stream detect-local-mode feature-gates healthz-bind-address help
        hostname-override init-only iptables-localhost-nodeports iptables-masquerade-bit
        iptables-min-sync-period iptables-sync-period ipvs-exclude-cidrs ipvs-min-sync-period
        ipvs-scheduler ipvs-strict-arp ipvs-sync-period ipvs-tcp-timeout ipvs-tcpfin-timeout
        ipvs-udp-timeout kube-api-burst kube-api-content-type kube-api-qps kubeconfig
        log-flush-frequency log-text-info-buffer-size log-text-split-stream log_backtrace_at log_dir
        log_file log_file_max_size logging-format logtostderr masquerade-all master
        metrics-bind-address nodeport-addresses one_output oom-score-adj pod-bridge-interface
        pod-interface-name-prefix profiling proxy-mode show-hidden-metrics-for-version skip_headers
        skip_log_headers stderrthreshold v version vmodule write-config-to
    """),
}

# (component, first minor): changes recorded in the upstream CHANGELOG after the documented version.
FLAG_CHANGES = {
    ("kubelet", 35): {"removed": frozenset(["pod-infra-container-image"]),
                      "source": "kubernetes/kubernetes CHANGELOG-1.35.md (v1.35.0, Urgent Upgrade Notes)"},
}

# Config kinds: apiVersion, the source page and version documented, and the fields of every
# struct type reachable from the kind. STRUCT_FIELDS maps (type, field) to the struct type
# (or [type] for a list of structs) the checker descends into; other fields are scalars or
# free-form maps and are not looked into.
CONFIG_KINDS = {
    "KubeletConfiguration": {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "source": (_WEBSITE + "config-api/kubelet-config.v1beta1.md", "1.31"),
    },
    "KubeProxyConfiguration": {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "source": (_WEBSITE + "config-api/kube-proxy-config.v1alpha1.md", "1.31"),
    },
    "KubeSchedulerConfiguration": {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "source": (_WEBSITE + "config-api/kube-scheduler-config.v1.md", "1.35"),
    },
}

TYPES = {
    # kubelet-config.v1beta1.md
    "KubeletConfiguration": _names("""
        apiVersion kind enableServer staticPodPath podLogsDir syncFrequency fileCheckFrequency
        httpCheckFrequency staticPodURL staticPodURLHeader address port readOnlyPort tlsCertFile
        tlsPrivateKeyFile tlsCipherSuites tlsMinVersion rotateCertificates serverTLSBootstrap
        authentication authorization registryPullQPS registryBurst eventRecordQPS eventBurst
        enableDebuggingHandlers enableContentionProfiling healthzPort healthzBindAddress oomScoreAdj
        clusterDomain clusterDNS streamingConnectionIdleTimeout nodeStatusUpdateFrequency
        nodeStatusReportFrequency nodeLeaseDurationSeconds imageMinimumGCAge imageMaximumGCAge
        imageGCHighThresholdPercent imageGCLowThresholdPercent volumeStatsAggPeriod kubeletCgroups
        systemCgroups cgroupRoot cgroupsPerQOS cgroupDriver cpuManagerPolicy cpuManagerPolicyOptions
        cpuManagerReconcilePeriod memoryManagerPolicy topologyManagerPolicy topologyManagerScope
        topologyManagerPolicyOptions qosReserved runtimeRequestTimeout hairpinMode maxPods podCIDR
        podPidsLimit resolvConf runOnce cpuCFSQuota cpuCFSQuotaPeriod nodeStatusMaxImages
        maxOpenFiles contentType kubeAPIQPS kubeAPIBurst serializeImagePulls maxParallelImagePulls
        evictionHard evictionSoft evictionSoftGracePeriod evictionPressureTransitionPeriod
        evictionMaxPodGracePeriod evictionMinimumReclaim podsPerCore enableControllerAttachDetach
        protectKernelDefaults makeIPTablesUtilChains iptablesMasqueradeBit iptablesDropBit
        featureGates failSwapOn memorySwap containerLogMaxSize containerLogMaxFiles
        containerLogMaxWorkers containerLogMonitorInterval configMapAndSecretChangeDetectionStrategy
        systemReserved kubeReserved reservedSystemCPUs showHiddenMetricsForVersion
        systemReservedCgroup kubeReservedCgroup enforceNodeAllocatable allowedUnsafeSysctls
        volumePluginDir providerID kernelMemcgNotification logging enableSystemLogHandler
        enableSystemLogQuery shutdownGracePeriod shutdownGracePeriodCriticalPods
        shutdownGracePeriodByPodPriority reservedMemory enableProfilingHandler
        enableDebugFlagsHandler seccompDefault memoryThrottlingFactor registerWithTaints
        registerNode tracing localStorageCapacityIsolation containerRuntimeEndpoint
        imageServiceEndpoint failCgroupV1
    """),
    "KubeletAuthentication": _names("""
        x509 webhook anonymous
    """),
    "KubeletX509Authentication": _names("""
        clientCAFile
    """),
    "KubeletWebhookAuthentication": _names("""
        enabled cacheTTL
    """),
    "KubeletAnonymousAuthentication": _names("""
        enabled
    """),
    "KubeletAuthorization": _names("""
        mode webhook
    """),
    "KubeletWebhookAuthorization": _names("""
        cacheAuthorizedTTL cacheUnauthorizedTTL
    """),
    "MemorySwapConfiguration": _names("""
        swapBehavior
    """),
    "LoggingConfiguration": _names("""
        format flushFrequency verbosity vmodule options
    """),
    "TracingConfiguration": _names("""
        endpoint samplingRatePerMillion
    """),
    "ShutdownGracePeriodByPodPriority": _names("""
        priority shutdownGracePeriodSeconds
    """),
    "MemoryReservation": _names("""
        numaNode limits
    """),
    # kube-proxy-config.v1alpha1.md (with the component-base types it lists)
    "KubeProxyConfiguration": _names("""
        apiVersion kind featureGates clientConnection logging hostnameOverride bindAddress
        healthzBindAddress metricsBindAddress bindAddressHardFail enableProfiling
        showHiddenMetricsForVersion mode iptables ipvs nftables winkernel detectLocalMode
        detectLocal clusterCIDR nodePortAddresses oomScoreAdj conntrack configSyncPeriod portRange
        windowsRunAsService
    """),
    "ClientConnectionConfiguration": _names("""
        kubeconfig acceptContentTypes contentType qps burst
    """),
    "DetectLocalConfiguration": _names("""
        bridgeInterface interfaceNamePrefix
    """),
    "KubeProxyConntrackConfiguration": _names("""
        maxPerCore min tcpEstablishedTimeout tcpCloseWaitTimeout tcpBeLiberal udpTimeout
        udpStreamTimeout
    """),
    "KubeProxyIPTablesConfiguration": _names("""
        masqueradeBit masqueradeAll localhostNodePorts syncPeriod minSyncPeriod
    """),
    "KubeProxyIPVSConfiguration": _names("""
        syncPeriod minSyncPeriod scheduler excludeCIDRs strictARP tcpTimeout tcpFinTimeout
        udpTimeout
    """),
    "KubeProxyNFTablesConfiguration": _names("""
        masqueradeBit masqueradeAll syncPeriod minSyncPeriod
    """),
    "KubeProxyWinkernelConfiguration": _names("""
        networkName sourceVip enableDSR rootHnsEndpointName forwardHealthCheckVip
    """),
    "DebuggingConfiguration": _names("""
        enableProfiling enableContentionProfiling
    """),
    "LeaderElectionConfiguration": _names("""
        leaderElect leaseDuration renewDeadline retryPeriod resourceLock resourceName
        resourceNamespace
    """),
    # component-base logging types (documented in kubelet-config.v1beta1.md)
    "FormatOptions": _names("text json"),
    "TextOptions": _names("splitStream infoBufferSize"),
    "JSONOptions": _names("splitStream infoBufferSize"),
    # kube-scheduler-config.v1.md (DebuggingConfiguration is embedded inline)
    "KubeSchedulerConfiguration": _names("""
        apiVersion kind parallelism leaderElection clientConnection enableProfiling
        enableContentionProfiling percentageOfNodesToScore podInitialBackoffSeconds
        podMaxBackoffSeconds profiles extenders delayCacheUntilActive
    """),
    "KubeSchedulerProfile": _names("schedulerName percentageOfNodesToScore plugins pluginConfig"),
    "Plugins": _names("""
        preEnqueue queueSort preFilter filter postFilter preScore score reserve permit preBind
        bind postBind multiPoint
    """),
    "PluginSet": _names("enabled disabled"),
    "Plugin": _names("name weight"),
    "PluginConfig": _names("name args"),
    "Extender": _names("""
        urlPrefix filterVerb preemptVerb prioritizeVerb weight bindVerb enableHTTPS tlsConfig
        httpTimeout nodeCacheCapable managedResources ignorable
    """),
    "ExtenderTLSConfig": _names("insecure serverName certFile keyFile caFile certData keyData caData"),
    "ExtenderManagedResource": _names("name ignoredByScheduler"),
}

STRUCT_FIELDS = {
    ("KubeletConfiguration", "authentication"): "KubeletAuthentication",
    ("KubeletConfiguration", "authorization"): "KubeletAuthorization",
    ("KubeletConfiguration", "memorySwap"): "MemorySwapConfiguration",
    ("KubeletConfiguration", "logging"): "LoggingConfiguration",
    ("KubeletConfiguration", "tracing"): "TracingConfiguration",
    ("KubeletConfiguration", "shutdownGracePeriodByPodPriority"): ["ShutdownGracePeriodByPodPriority"],
    ("KubeletConfiguration", "reservedMemory"): ["MemoryReservation"],
    ("KubeletAuthentication", "x509"): "KubeletX509Authentication",
    ("KubeletAuthentication", "webhook"): "KubeletWebhookAuthentication",
    ("KubeletAuthentication", "anonymous"): "KubeletAnonymousAuthentication",
    ("KubeletAuthorization", "webhook"): "KubeletWebhookAuthorization",
    ("LoggingConfiguration", "options"): "FormatOptions",
    ("FormatOptions", "text"): "TextOptions",
    ("FormatOptions", "json"): "JSONOptions",
    ("KubeProxyConfiguration", "clientConnection"): "ClientConnectionConfiguration",
    ("KubeProxyConfiguration", "logging"): "LoggingConfiguration",
    ("KubeProxyConfiguration", "iptables"): "KubeProxyIPTablesConfiguration",
    ("KubeProxyConfiguration", "ipvs"): "KubeProxyIPVSConfiguration",
    ("KubeProxyConfiguration", "nftables"): "KubeProxyNFTablesConfiguration",
    ("KubeProxyConfiguration", "winkernel"): "KubeProxyWinkernelConfiguration",
    ("KubeProxyConfiguration", "detectLocal"): "DetectLocalConfiguration",
    ("KubeProxyConfiguration", "conntrack"): "KubeProxyConntrackConfiguration",
    ("KubeSchedulerConfiguration", "leaderElection"): "LeaderElectionConfiguration",
    ("KubeSchedulerConfiguration", "clientConnection"): "ClientConnectionConfiguration",
    ("KubeSchedulerConfiguration", "profiles"): ["KubeSchedulerProfile"],
    ("KubeSchedulerConfiguration", "extenders"): ["Extender"],
    ("KubeSchedulerProfile", "plugins"): "Plugins",
    ("KubeSchedulerProfile", "pluginConfig"): ["PluginConfig"],
    ("PluginSet", "enabled"): ["Plugin"],
    ("PluginSet", "disabled"): ["Plugin"],
    ("Extender", "tlsConfig"): "ExtenderTLSConfig",
    ("Extender", "managedResources"): ["ExtenderManagedResource"],
}
for _extension_point in TYPES["Plugins"]:
    STRUCT_FIELDS[("Plugins", _extension_point)] = "PluginSet"

_VERSION_RE = re.compile(r"^v?1\.([0-9]+)(\.[0-9]+)?$")


def _minor(version):
    match = _VERSION_RE.match(version) if isinstance(version, str) else None
    if not match or int(match.group(1)) not in SUPPORTED_KUBERNETES_MINORS:
        raise SettingsReferenceError("version: %r is not a supported Kubernetes version (supported: %s)" % (
            version, ", ".join("1.%d" % m for m in SUPPORTED_KUBERNETES_MINORS)))
    return int(match.group(1))


def _hint(name, known):
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return " (did you mean %r?)" % close[0] if close else ""


def known_flags(component, version):
    """The flags ``component`` accepts in Kubernetes ``version`` according to the reference."""
    minor = _minor(version)
    if component in NO_FLAG_REFERENCE:
        raise SettingsReferenceError("%s: no flag reference is recorded: %s" % (component, NO_FLAG_REFERENCE[component]))
    if component not in FLAGS:
        raise SettingsReferenceError("component: %r is not one of %s" % (component, ", ".join(sorted(FLAGS))))
    names = set(FLAGS[component])
    for (name, first_minor), change in sorted(FLAG_CHANGES.items()):
        if name == component and minor >= first_minor:
            names -= change.get("removed", frozenset())
            names |= change.get("added", frozenset())
    return frozenset(names)


def _flag_name(flag):
    if not isinstance(flag, str) or not flag.strip("-"):
        raise SettingsReferenceError("flags: %r is not a flag (expected e.g. '--secure-port=6443')" % (flag,))
    return flag.lstrip("-").split("=", 1)[0]


def check_flags(component, version, flags):
    """Raise SettingsReferenceError naming every flag ``component`` does not accept in ``version``.

    ``flags``: a dict {name: value} or a list of '--name=value' / '--name' / 'name' strings.
    """
    names = [_flag_name(f) for f in (sorted(flags) if isinstance(flags, dict) else flags)]
    known = known_flags(component, version)
    unknown = [n for n in names if n not in known]
    if unknown:
        source, documented = FLAG_SOURCES[component]
        raise SettingsReferenceError("%s %s does not accept %s (flag reference: %s, documenting %s)" % (
            component, version, ", ".join("--%s%s" % (n, _hint(n, known)) for n in unknown), source, documented))


def _walk(type_name, doc, path, problems):
    if not isinstance(doc, dict):
        problems.append("%s: expected a mapping (%s), got %r" % (path or "<document>", type_name, doc))
        return
    fields = TYPES[type_name]
    for key in sorted(doc, key=str):
        where = "%s.%s" % (path, key) if path else str(key)
        if key not in fields:
            problems.append("%s: unknown field of %s%s" % (where, type_name, _hint(str(key), fields)))
            continue
        sub = STRUCT_FIELDS.get((type_name, key))
        value = doc[key]
        if sub is None or value is None:
            continue
        if isinstance(sub, list):
            if not isinstance(value, list):
                problems.append("%s: expected a list of %s, got %r" % (where, sub[0], value))
                continue
            for index, item in enumerate(value):
                _walk(sub[0], item, "%s[%d]" % (where, index), problems)
        else:
            _walk(sub, value, where, problems)


def check_config_fields(kind, version, doc):
    """Raise SettingsReferenceError naming every unknown field (at any depth) of a config document."""
    _minor(version)
    if kind not in CONFIG_KINDS:
        raise SettingsReferenceError("kind: %r is not one of %s" % (kind, ", ".join(sorted(CONFIG_KINDS))))
    spec = CONFIG_KINDS[kind]
    problems = []
    if isinstance(doc, dict):
        if doc.get("kind", kind) != kind:
            problems.append("kind: %r, expected %r" % (doc.get("kind"), kind))
        if doc.get("apiVersion", spec["apiVersion"]) != spec["apiVersion"]:
            problems.append("apiVersion: %r, expected %r" % (doc.get("apiVersion"), spec["apiVersion"]))
    _walk(kind, doc, "", problems)
    if problems:
        raise SettingsReferenceError("%s (Kubernetes %s): %s (field reference: %s, documenting %s)" % (
            kind, version, "; ".join(problems), spec["source"][0], spec["source"][1]))
