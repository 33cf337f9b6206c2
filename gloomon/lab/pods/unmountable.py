"""A pod that cannot mount ``gloo-mtls-certs`` (real-clusters.md §2): the secret is gone, and a new pod
of a component (a scale-up, a rollout) stays ``Pending`` with every container waiting in
``ContainerCreating``, while the kubelet retries the mount and records ``FailedMount`` (``MountVolume.SetUp
failed for volume "gloo-mtls-certs" : secret "gloo-mtls-certs" not found``) about every two minutes.
Running pods keep their mounted copy and go on serving. No process runs for it: none would in a cluster.
"""

from __future__ import annotations

from dataclasses import replace

from gloomon.domain.model import SECRET_NAME, Component
from gloomon.lab.cluster.store import Container, NamespaceStore, Pod
from gloomon.lab.cluster.util import name_suffix

#: the kubelet's volume-mount retry period once its back-off is at its cap (2m2s)
MOUNT_RETRY_SECONDS = 122.0


def add_unmountable_pod(store: NamespaceStore, component: Component) -> Pod:
    """Delete the secret and add one more pod of ``component`` that cannot start without it."""
    like = store.pods_of(component)[0]
    store.delete_secret()  # reads answer 404; running pods keep their mounted copy
    owner = like.owner
    prefix = owner[1] if owner is not None else component.value
    pod = Pod(
        name=f"{prefix}-{name_suffix()}",
        namespace=store.namespace,
        labels=dict(like.labels),
        containers=[_waiting(c) for c in like.containers],
        pod_ip=store.next_pod_ip(),
        component=component,
        owner=owner,
        phase="Pending",
        service_account=like.service_account,
    )
    store.add_pod(pod)
    for deployment in store.deployments.values():
        if deployment.component is component:
            deployment.replicas += 1  # scaled up: the new replica is the one that cannot start
            store.touch(deployment)
    message = f'MountVolume.SetUp failed for volume "{SECRET_NAME}" : secret "{SECRET_NAME}" not found'
    store.record_event(
        "Pod", pod.name, pod.uid, "FailedMount", message, "kubelet", repeat_every=MOUNT_RETRY_SECONDS
    )
    return pod


def _waiting(container: Container) -> Container:
    fresh = Container(name=container.name, image=container.image)
    return replace(
        fresh,
        ready=False,
        waiting_reason="ContainerCreating",
        ports=container.ports,
        env=container.env,
        args=container.args,
    )
