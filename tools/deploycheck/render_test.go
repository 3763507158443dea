package deploycheck

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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

// prometheusRule is the part of the Prometheus Operator's PrometheusRule we use.
type prometheusRule struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
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
	case "PrometheusRule":
		return &prometheusRule{}, nil
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
		// Its NATS credentials are its own (it may publish only on its own subjects) and
		// secret: NATS_URL from the Secret iam-nats, key = the service.
		var nu *corev1.EnvVar
		for i := range c.Env {
			if c.Env[i].Name == "NATS_URL" {
				nu = &c.Env[i]
			}
		}
		if nu == nil || nu.Value != "" || nu.ValueFrom == nil || nu.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s/%s: NATS_URL must come from a Secret", overlay, name)
		} else if !strings.HasPrefix(nu.ValueFrom.SecretKeyRef.Name, "iam-nats") || nu.ValueFrom.SecretKeyRef.Key != name {
			t.Errorf("%s/%s: NATS_URL from %+v", overlay, name, nu.ValueFrom.SecretKeyRef)
		}
	}
	for _, o := range objs["ConfigMap"] {
		if cm := o.(*corev1.ConfigMap); cm.Data["NATS_URL"] != "" {
			t.Errorf("%s: ConfigMap %s sets NATS_URL: credentials belong in the Secret iam-nats", overlay, cm.Name)
		}
	}
	checkNATS(t, overlay, objs)
}

var (
	natsUser     = regexp.MustCompile(`\{user: "([^"]+)", password: \$([A-Z0-9_]+)[,}]`)
	natsPassword = regexp.MustCompile(`password:\s*([^,}\s]*)`)
)

// checkNATS asserts that the NATS server knows a user per service, that every password is
// a variable of the nats container's environment, and that each comes from the Secret
// nats-users (key = user). Which subjects each user may publish on is checked against the
// permission model in pkg/events by pkg/natsembed's tests.
func checkNATS(t *testing.T, overlay string, objs map[string][]any) {
	t.Helper()
	var conf string
	for _, o := range objs["ConfigMap"] {
		if c, ok := o.(*corev1.ConfigMap).Data["nats.conf"]; ok {
			conf = c
		}
	}
	if !strings.Contains(conf, "authorization {") {
		t.Fatalf("%s: nats.conf has no authorization block: anyone could publish on iam.>", overlay)
	}
	for _, m := range natsPassword.FindAllStringSubmatch(conf, -1) {
		if !strings.HasPrefix(m[1], "$") {
			t.Errorf("%s: nats.conf has a literal password %q; passwords come from the Secret nats-users", overlay, m[1])
		}
	}
	vars := map[string]string{} // user -> variable
	for _, m := range natsUser.FindAllStringSubmatch(conf, -1) {
		vars[m[1]] = m[2]
	}
	for _, s := range append(slices.Clone(services), "reader") {
		if _, ok := vars[s]; !ok {
			t.Errorf("%s: NATS has no user %s", overlay, s)
		}
	}
	var nats *corev1.Container
	for _, o := range objs["StatefulSet"] {
		if s := o.(*appsv1.StatefulSet); s.Name == "nats" {
			nats = &s.Spec.Template.Spec.Containers[0]
		}
	}
	if nats == nil {
		t.Fatalf("%s: no NATS StatefulSet", overlay)
	}
	for user, v := range vars {
		var ref *corev1.SecretKeySelector
		for _, e := range nats.Env {
			if e.Name == v && e.Value == "" && e.ValueFrom != nil {
				ref = e.ValueFrom.SecretKeyRef
			}
		}
		if ref == nil || !strings.HasPrefix(ref.Name, "nats-users") || ref.Key != user {
			t.Errorf("%s: NATS password of %s ($%s) must come from the Secret nats-users, key %s: %+v", overlay, user, v, user, ref)
		}
	}
}

// checkAlerts: one rule set, alerting on any dead letter, and every metric an alert
// reads is one the code registers (a renamed metric would silence its alert).
func checkAlerts(t *testing.T, overlay string, objs map[string][]any) {
	t.Helper()
	if len(objs["PrometheusRule"]) != 1 {
		t.Fatalf("%s: %d PrometheusRules, want 1", overlay, len(objs["PrometheusRule"]))
	}
	var code strings.Builder
	_ = filepath.WalkDir("../../pkg", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, _ := os.ReadFile(path)
			code.Write(b)
		}
		return nil
	})
	metric := regexp.MustCompile(`iam_[a-z_]+`)
	deadLetters := false
	for _, g := range objs["PrometheusRule"][0].(*prometheusRule).Spec.Groups {
		for _, r := range g.Rules {
			for _, m := range metric.FindAllString(r.Expr, -1) {
				if !strings.Contains(code.String(), `"`+m+`"`) {
					t.Errorf("%s: alert %s reads %s, which no code registers", overlay, r.Alert, m)
				}
			}
			deadLetters = deadLetters || strings.Contains(r.Expr, "iam_consumer_dead_letters_total")
		}
	}
	if !deadLetters {
		t.Errorf("%s: no alert on dead letters", overlay)
	}
}

func TestDevOverlay(t *testing.T) {
	objs := render(t, "dev")
	checkWorkloads(t, "dev", objs, 1)
	checkAlerts(t, "dev", objs)
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
	// The generated NATS credentials agree: each service's URL names its own user with the
	// password the server has for it.
	data := map[string]map[string][]byte{}
	for _, o := range objs["Secret"] {
		s := o.(*corev1.Secret)
		data[s.Name[:strings.LastIndexByte(s.Name, '-')]] = s.Data // without the generator's hash
	}
	for _, s := range services {
		u, err := url.Parse(string(data["iam-nats"][s]))
		if err != nil || u.User == nil {
			t.Errorf("dev: iam-nats %s: %q", s, data["iam-nats"][s])
			continue
		}
		if p, _ := u.User.Password(); u.User.Username() != s || p == "" || p != string(data["nats-users"][s]) {
			t.Errorf("dev: iam-nats %s connects as %s with a password nats-users does not have for it", s, u.User.Username())
		}
	}
}

func TestProdOverlay(t *testing.T) {
	objs := render(t, "prod")
	checkWorkloads(t, "prod", objs, 3)
	checkAlerts(t, "prod", objs)
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
