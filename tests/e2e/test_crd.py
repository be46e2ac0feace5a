"""CustomResourceDefinitions through real kubectl: discovery, printer columns, explain, strict validation."""

from __future__ import annotations

import json

from tests.conftest import Cluster

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A schedule and an image to run on it.
        properties:
          spec:
            type: object
            description: What to run and when.
            properties:
              cronSpec: {type: string, description: The schedule in cron format.}
              image: {type: string}
              replicas: {type: integer}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
"""

CR = """\
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: nightly}
spec: {cronSpec: "0 3 * * *", image: busybox, replicas: 2}
"""


def test_crd_lifecycle_with_kubectl(cluster: Cluster, ns: str) -> None:
    k = cluster.kubectl
    assert "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created" in \
        k("apply", "-f", "-", input=CRD).stdout
    k("wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=10s")
    assert "crontab.stable.example.com/nightly created" in k("apply", "-n", ns, "-f", "-", input=CR).stdout
    lines = k("get", "ct", "-n", ns).stdout.splitlines()
    assert lines[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"]
    assert lines[1].split()[:6] == ["nightly", "0", "3", "*", "*", "*"]
    assert lines[1].split()[6] == "2"
    out = k("explain", "crontab.spec").stdout
    assert "cronSpec" in out and "The schedule in cron format." in out
    # Strict validation against the CRD's structural schema
    p = k("apply", "-n", ns, "-f", "-", input=CR.replace("replicas: 2", "replicas: 2, colour: red"), check=False)
    assert p.returncode != 0 and 'unknown field "spec.colour"' in p.stderr
    # a re-apply with a change is a merge patch for custom resources
    assert "configured" in k("apply", "-n", ns, "-f", "-", input=CR.replace("replicas: 2", "replicas: 3")).stdout
    got = json.loads(k("get", "crontab", "nightly", "-n", ns, "-o", "json").stdout)
    assert got["spec"]["replicas"] == 3 and got["metadata"]["generation"] == 2
    assert "api-resources" and "crontabs" in k("api-resources", "--api-group=stable.example.com").stdout
    k("delete", "crd", "crontabs.stable.example.com")
    p = k("get", "crontabs", "-n", ns, check=False)
    assert p.returncode != 0
