package hostkit

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

const (
	// PluginName is the catalog name the host registers the executable under.
	PluginName = "nomad-conformance"
	// VaultVersion is what the host reports as VAULT_VERSION and PluginEnv.
	VaultVersion = "1.21.0"
)

// RepoRoot finds the repository root (the directory holding
// test/support/nomad-fake-server.ts) by walking up from the working
// directory; "" when there is none.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "test", "support", "nomad-fake-server.ts")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// fromRoot returns env[name] when set, else root/rel when the repository root
// is found, else fallback (relative to the working directory).
func fromRoot(name, rel, fallback string) string {
	if p := os.Getenv(name); p != "" {
		return p
	}
	if root := RepoRoot(); root != "" {
		return filepath.Join(root, rel)
	}
	return fallback
}

// PluginBinary is $PLUGIN_BINARY or the repository's dist/vault-plugin-secrets-nomad.
func PluginBinary() string {
	return fromRoot("PLUGIN_BINARY", filepath.Join("dist", "vault-plugin-secrets-nomad"), "../../dist/vault-plugin-secrets-nomad")
}

// DescriptorPath is $PLUGIN_DESCRIPTORS or src/generated/descriptors.binpb.
func DescriptorPath() string {
	return fromRoot("PLUGIN_DESCRIPTORS", filepath.Join("src", "generated", "descriptors.binpb"), "../../src/generated/descriptors.binpb")
}

// PackageJSONPath is $PLUGIN_PACKAGE_JSON or the repository's package.json.
func PackageJSONPath() string {
	return fromRoot("PLUGIN_PACKAGE_JSON", "package.json", "../../package.json")
}

// BinaryInfo returns the absolute path and SHA-256 of an executable (what the
// catalog records at registration and checks before every start).
func BinaryInfo(path string) (string, []byte, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return "", nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return "", nil, fmt.Errorf("plugin executable not usable (build it with `npm run build`, or set PLUGIN_BINARY): %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	if st.Mode()&0o111 == 0 {
		return "", nil, fmt.Errorf("plugin executable %s is not executable (mode %v)", p, st.Mode())
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", nil, err
	}
	return p, h.Sum(nil), nil
}

// ExpectedPluginVersion is package.json's version.
func ExpectedPluginVersion() (string, error) {
	raw, err := os.ReadFile(PackageJSONPath())
	if err != nil {
		return "", fmt.Errorf("reading package.json: %w", err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return "", fmt.Errorf("parsing package.json: %w", err)
	}
	if pkg.Version == "" {
		return "", fmt.Errorf("package.json has no version")
	}
	return pkg.Version, nil
}
