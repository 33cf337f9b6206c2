"""Hypothesis strategies shared by the fuzz tests: JSON shaped like Envoy's admin answers."""

from __future__ import annotations

from hypothesis import strategies as st

#: any JSON value, with the keys Envoy's admin answers use, nested a few levels
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "certificates",
                    "ca_cert",
                    "cert_chain",
                    "serial_number",
                    "valid_from",
                    "expiration_time",
                    "cluster_statuses",
                    "host_statuses",
                    "stats",
                    "name",
                    "value",
                    "configs",
                    "secret",
                    "tls_certificate",
                    "certificate_chain",
                    "inline_string",
                    "inline_bytes",
                    "version",
                    "state",
                    "health_status",
                    "address",
                    "socket_address",
                    "dynamic_active_secrets",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)
