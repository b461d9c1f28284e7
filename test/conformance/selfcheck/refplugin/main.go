//go:build refplugin

// Command refplugin is a small Nomad-shaped secrets engine written with the
// Vault SDK's own framework and plugin server. It is not part of the suite:
// it exists to check the judge — the conformance tests must pass against a
// plugin built from the SDK itself. See ../README.md.
//
//	go build -tags refplugin -ldflags "-X main.version=v0.1.0" -o /tmp/refplugin ./selfcheck/refplugin
//	PLUGIN_BINARY=/tmp/refplugin go test -count=1 ./...
package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/plugin"
)

var version = "v0.0.0"

// REFPLUGIN_BREAK (comma-separated) plants known faults, to check that the
// suite notices them: nomultiplex, version, sealwrap, token, existence,
// openapi.
func broken(what string) bool {
	for _, w := range strings.Split(os.Getenv("REFPLUGIN_BREAK"), ",") {
		if w == what {
			return true
		}
	}
	return false
}

func main() {
	serve := plugin.ServeMultiplex
	if broken("nomultiplex") {
		serve = plugin.Serve
	}
	if err := serve(&plugin.ServeOpts{BackendFactoryFunc: factory}); err != nil {
		os.Exit(1)
	}
}

type leaseConfig struct {
	TTL    time.Duration `json:"ttl"`
	MaxTTL time.Duration `json:"max_ttl"`
}

type accessConfig struct {
	Address string `json:"address"`
	Token   string `json:"token"`
}

type role struct {
	Policies []string `json:"policies"`
	Type     string   `json:"type"`
	Global   bool     `json:"global"`
}

func exists(key func(*framework.FieldData) string) framework.ExistenceFunc {
	return func(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
		e, err := req.Storage.Get(ctx, key(d))
		return e != nil, err
	}
}

func fixed(k string) func(*framework.FieldData) string {
	return func(*framework.FieldData) string { return k }
}

func factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	if broken("version") {
		version = "v9.9.9"
	}
	sealWrap := []string{"config/access"}
	if broken("sealwrap") {
		sealWrap = nil
	}
	b := &framework.Backend{
		Help:           "Reference Nomad-shaped backend for checking the conformance host.",
		BackendType:    logical.TypeLogical,
		RunningVersion: version,
		PathsSpecial:   &logical.Paths{SealWrapStorage: sealWrap},
	}
	b.Paths = []*framework.Path{
		{
			Pattern: "config/lease",
			Fields: map[string]*framework.FieldSchema{
				"ttl":     {Type: framework.TypeDurationSecond},
				"max_ttl": {Type: framework.TypeDurationSecond},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: &framework.PathOperation{Callback: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
					e, err := logical.StorageEntryJSON("config/lease", leaseConfig{
						TTL:    time.Duration(d.Get("ttl").(int)) * time.Second,
						MaxTTL: time.Duration(d.Get("max_ttl").(int)) * time.Second,
					})
					if err != nil {
						return nil, err
					}
					return nil, req.Storage.Put(ctx, e)
				}},
				logical.ReadOperation: &framework.PathOperation{Callback: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
					e, err := req.Storage.Get(ctx, "config/lease")
					if err != nil || e == nil {
						return nil, err
					}
					var c leaseConfig
					if err := e.DecodeJSON(&c); err != nil {
						return nil, err
					}
					return &logical.Response{Data: map[string]interface{}{
						"ttl": int64(c.TTL.Seconds()), "max_ttl": int64(c.MaxTTL.Seconds()),
					}}, nil
				}},
				logical.DeleteOperation: &framework.PathOperation{Callback: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
					return nil, req.Storage.Delete(ctx, "config/lease")
				}},
			},
		},
		{
			Pattern: "config/access",
			Fields: map[string]*framework.FieldSchema{
				"address": {Type: framework.TypeString},
				"token":   {Type: framework.TypeString},
			},
			ExistenceCheck: exists(fixed("config/access")),
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.CreateOperation: &framework.PathOperation{Callback: writeAccess},
				logical.UpdateOperation: &framework.PathOperation{Callback: writeAccess},
				logical.ReadOperation: &framework.PathOperation{Callback: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
					e, err := req.Storage.Get(ctx, "config/access")
					if err != nil || e == nil {
						return nil, err
					}
					var c accessConfig
					if err := e.DecodeJSON(&c); err != nil {
						return nil, err
					}
					data := map[string]interface{}{"address": c.Address}
					if broken("token") {
						data["token"] = c.Token
					}
					return &logical.Response{Data: data}, nil
				}},
			},
		},
		{
			Pattern: "role/?$",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{Callback: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
					keys, err := req.Storage.List(ctx, "role/")
					if err != nil {
						return nil, err
					}
					return logical.ListResponse(keys), nil
				}},
			},
		},
		{
			Pattern: "role/" + framework.GenericNameRegex("name"),
			Fields: map[string]*framework.FieldSchema{
				"name":     {Type: framework.TypeString},
				"policies": {Type: framework.TypeCommaStringSlice},
				"type":     {Type: framework.TypeString, Default: "client"},
				"global":   {Type: framework.TypeBool},
			},
			ExistenceCheck: exists(func(d *framework.FieldData) string { return "role/" + d.Get("name").(string) }),
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.CreateOperation: &framework.PathOperation{Callback: writeRole},
				logical.UpdateOperation: &framework.PathOperation{Callback: writeRole},
				logical.ReadOperation: &framework.PathOperation{Callback: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
					e, err := req.Storage.Get(ctx, "role/"+d.Get("name").(string))
					if err != nil || e == nil {
						return nil, err
					}
					var r role
					if err := e.DecodeJSON(&r); err != nil {
						return nil, err
					}
					return &logical.Response{Data: map[string]interface{}{"policies": r.Policies, "type": r.Type, "global": r.Global}}, nil
				}},
			},
		},
		{
			Pattern: "creds/" + framework.GenericNameRegex("name"),
			Fields:  map[string]*framework.FieldSchema{"name": {Type: framework.TypeString}},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{Callback: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
					return logical.ErrorResponse("no Nomad here"), nil
				}},
			},
		},
	}
	if broken("existence") {
		b.Paths[3].ExistenceCheck = nil
		delete(b.Paths[3].Operations, logical.CreateOperation)
	}
	if broken("openapi") {
		b.Paths = append(b.Paths, &framework.Path{Pattern: "bad", Fields: map[string]*framework.FieldSchema{"x": {Type: framework.TypeString}},
			Operations: map[logical.Operation]framework.OperationHandler{logical.ReadOperation: &framework.PathOperation{
				Callback: nil, Responses: map[int][]framework.Response{99: {{Description: "bad code"}}}}}})
	}
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func writeAccess(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	e, err := logical.StorageEntryJSON("config/access", accessConfig{Address: d.Get("address").(string), Token: d.Get("token").(string)})
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Put(ctx, e)
}

func writeRole(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	e, err := logical.StorageEntryJSON("role/"+name, role{
		Policies: d.Get("policies").([]string),
		Type:     d.Get("type").(string),
		Global:   d.Get("global").(bool),
	})
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Put(ctx, e)
}
