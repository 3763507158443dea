package deploycheck

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// cnpgCluster is the part of CloudNativePG's Cluster we use; unknown fields fail, so a
// typo in our manifest still does.
type cnpgCluster struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       struct {
		Instances int `json:"instances"`
		Storage   struct {
			Size string `json:"size"`
		} `json:"storage"`
		Bootstrap struct {
			InitDB struct {
				Database    string            `json:"database"`
				Owner       string            `json:"owner"`
				Secret      map[string]string `json:"secret"`
				PostInitSQL []string          `json:"postInitSQL"`
			} `json:"initdb"`
		} `json:"bootstrap"`
	} `json:"spec"`
}

var services = []string{"oauth-clients", "iam-subjects", "iam-policies", "consent"}

// typed maps a kind to the API type it must decode into.
func typed(kind string) (any, error) {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}, nil
	case "StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "Service":
		return &corev1.Service{}, nil
	case "ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "Secret":
		return &corev1.Secret{}, nil
	case "Namespace":
		return &corev1.Namespace{}, nil
	case "PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "Cluster":
		return &cnpgCluster{}, nil
	}
	return nil, fmt.Errorf("no API type known for kind %s", kind)
}

// render builds an overlay and decodes every object strictly.
func render(t *testing.T, overlay string) map[string][]any {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), "../../deploy/overlays/"+overlay)
	if err != nil {
		t.Fatalf("kustomize %s: %v", overlay, err)
	}
	objects := map[string][]any{}
	for _, r := range resMap.Resources() {
		raw, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj, err := typed(r.GetKind())
		if err != nil {
			t.Fatalf("%s %s: %v", overlay, r.GetName(), err)
		}
		if err := yaml.UnmarshalStrict(raw, obj); err != nil {
			t.Fatalf("%s: %s %s does not decode strictly: %v", overlay, r.GetKind(), r.GetName(), err)
		}
		objects[r.GetKind()] = append(objects[r.GetKind()], obj)
	}
	return objects
}

func deployments(objs map[string][]any) map[string]*appsv1.Deployment {
	out := map[string]*appsv1.Deployment{}
	for _, o := range objs["Deployment"] {
		d := o.(*appsv1.Deployment)
		out[d.Name] = d
	}
	return out
}

// checkWorkloads asserts what operators rely on in every overlay.
func checkWorkloads(t *testing.T, overlay string, objs map[string][]any, replicas int32) {
	t.Helper()
	ds := deployments(objs)
	for _, name := range append(slices.Clone(services), "iam-gateway") {
		d, ok := ds[name]
		if !ok {
			t.Fatalf("%s: no Deployment %s", overlay, name)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
			t.Errorf("%s/%s: replicas %v, want %d", overlay, name, d.Spec.Replicas, replicas)
		}
		pod := d.Spec.Template.Spec
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			t.Errorf("%s/%s: not runAsNonRoot", overlay, name)
		}
		for _, c := range pod.Containers {
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Errorf("%s/%s: root filesystem not read-only", overlay, name)
			}
			if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Memory().IsZero() {
				t.Errorf("%s/%s: resources not bounded", overlay, name)
			}
			if c.LivenessProbe == nil || c.ReadinessProbe == nil {
				t.Errorf("%s/%s: probes missing", overlay, name)
			}
		}
		if !slices.Contains(services, name) {
			continue
		}
		c := pod.Containers[0]
		if c.LivenessProbe.HTTPGet.Path != "/health" || c.ReadinessProbe.HTTPGet.Path != "/health/ready" {
			t.Errorf("%s/%s: probes on %s and %s", overlay, name, c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
		}
		var db *corev1.EnvVar
		for i := range c.Env {
			if c.Env[i].Name == "DATABASE_URL" {
				db = &c.Env[i]
			}
		}
		if db == nil || db.Value != "" || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s/%s: DATABASE_URL must come from a Secret", overlay, name)
		} else if !strings.HasPrefix(db.ValueFrom.SecretKeyRef.Name, "iam-databases") || db.ValueFrom.SecretKeyRef.Key != name {
			t.Errorf("%s/%s: DATABASE_URL from %+v", overlay, name, db.ValueFrom.SecretKeyRef)
		}
	}
}

func TestDevOverlay(t *testing.T) {
	objs := render(t, "dev")
	checkWorkloads(t, "dev", objs, 1)
	if len(objs["Cluster"]) != 1 || len(objs["StatefulSet"]) != 1 {
		t.Errorf("dev runs PostgreSQL and NATS in the cluster: %d clusters, %d statefulsets", len(objs["Cluster"]), len(objs["StatefulSet"]))
	}
	var secrets []string
	for _, o := range objs["Secret"] {
		secrets = append(secrets, o.(*corev1.Secret).Name)
	}
	if !slices.ContainsFunc(secrets, func(s string) bool { return strings.HasPrefix(s, "iam-databases") }) {
		t.Errorf("dev generates its database Secret: %v", secrets)
	}
}

func TestProdOverlay(t *testing.T) {
	objs := render(t, "prod")
	checkWorkloads(t, "prod", objs, 3)
	names := func(kind string) []string {
		var out []string
		for _, o := range objs[kind] {
			raw, _ := json.Marshal(o)
			var m struct {
				Metadata struct{ Name string } `json:"metadata"`
			}
			_ = json.Unmarshal(raw, &m)
			out = append(out, m.Metadata.Name)
		}
		return out
	}
	for _, s := range services {
		for _, kind := range []string{"PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"} {
			if !slices.Contains(names(kind), s) {
				t.Errorf("prod: no %s for %s", kind, s)
			}
		}
	}
	if !slices.Contains(names("NetworkPolicy"), "default-deny-ingress") {
		t.Error("prod: no default-deny NetworkPolicy")
	}
	if len(objs["Secret"]) != 0 {
		t.Errorf("prod must not generate Secrets (the operator provides them): %v", names("Secret"))
	}
	for _, o := range objs["StatefulSet"] {
		if s := o.(*appsv1.StatefulSet); s.Name == "nats" && *s.Spec.Replicas != 3 {
			t.Errorf("prod NATS has %d nodes", *s.Spec.Replicas)
		}
	}
	for _, o := range objs["ConfigMap"] {
		cm := o.(*corev1.ConfigMap)
		if conf, ok := cm.Data["nats.conf"]; ok && !strings.Contains(conf, "sync_interval: always") {
			t.Error("prod NATS must fsync every write")
		}
		if v, ok := cm.Data["NATS_STREAM_REPLICAS"]; ok && v != "3" {
			t.Errorf("prod streams have %s replicas", v)
		}
	}
}
