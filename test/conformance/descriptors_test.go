package conformance

// Compares the project's own .proto definitions (as compiled by `npm run gen`
// into a FileDescriptorSet) with the descriptors linked into this binary:
// the SDK's (pb.*, logical.*, pluginutil.multiplexing.*), go-plugin's
// (plugin.*) and grpc's (grpc.health.v1.*).

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// Linked anyway through go-plugin; named here so the comparison never
	// depends on that.
	_ "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/nomad-plugin/conformance/hostkit"
)

type descDiff struct {
	diffs []string // wire incompatibilities: fail
	notes []string // informational
}

func (d *descDiff) diff(format string, args ...interface{}) {
	d.diffs = append(d.diffs, fmt.Sprintf(format, args...))
}

func (d *descDiff) note(format string, args ...interface{}) {
	d.notes = append(d.notes, fmt.Sprintf(format, args...))
}

// absent reports something we declare that this SDK build does not have.
// Our protos claim Vault's wire format, so for the Vault SDK that is a
// difference; OpenBao is a documented subset of it (fewer fields in
// Paths/Request/Response, no Events/Observations), so there it is a note.
func (d *descDiff) absent(format string, args ...interface{}) {
	if hostkit.AbsentIsDifference {
		d.diff(format, args...)
	} else {
		d.note(format, args...)
	}
}

func TestDescriptorsMatchSDK(t *testing.T) {
	path := hostkit.DescriptorPath()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading our descriptor set (run `npm run gen`, or set PLUGIN_DESCRIPTORS): %v", err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		t.Fatalf("%s is not a FileDescriptorSet: %v", path, err)
	}
	ours, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatalf("building our descriptors: %v", err)
	}

	d := &descDiff{}
	compared := 0
	ours.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(string(fd.Package()), "google.protobuf") {
			return true // well-known types: identical by construction
		}
		compared++
		compareEnums(d, fd.Enums())
		compareMessages(d, fd.Messages())
		for i := 0; i < fd.Services().Len(); i++ {
			compareService(d, fd.Services().Get(i))
		}
		return true
	})
	if compared == 0 {
		t.Fatalf("%s declares no files besides google.protobuf", path)
	}
	t.Logf("compared %d of our .proto files against the %s build", compared, hostkit.SDKName)
	for _, n := range d.notes {
		t.Logf("note: %s", n)
	}
	if len(d.diffs) > 0 {
		sort.Strings(d.diffs)
		t.Errorf("%d difference(s) between %s and the %s build's registered descriptors:\n  %s",
			len(d.diffs), path, hostkit.SDKName, strings.Join(d.diffs, "\n  "))
	}
}

func lookup(name protoreflect.FullName) protoreflect.Descriptor {
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return nil
	}
	return desc
}

func compareMessages(d *descDiff, msgs protoreflect.MessageDescriptors) {
	for i := 0; i < msgs.Len(); i++ {
		m := msgs.Get(i)
		compareEnums(d, m.Enums())
		compareMessages(d, m.Messages())

		desc := lookup(m.FullName())
		if desc == nil {
			d.absent("message %s: not registered in the %s build", m.FullName(), hostkit.SDKName)
			continue
		}
		sdk, ok := desc.(protoreflect.MessageDescriptor)
		if !ok {
			d.diff("%s: a message here, a %T there", m.FullName(), desc)
			continue
		}
		for j := 0; j < m.Fields().Len(); j++ {
			compareField(d, m, m.Fields().Get(j), sdk)
		}
		if extra := sdk.Fields().Len() - m.Fields().Len(); extra > 0 {
			var names []string
			for j := 0; j < sdk.Fields().Len(); j++ {
				f := sdk.Fields().Get(j)
				if m.Fields().ByNumber(f.Number()) == nil {
					names = append(names, fmt.Sprintf("%s=%d", f.Name(), f.Number()))
				}
			}
			if len(names) > 0 {
				d.note("%s: SDK fields we do not declare: %s", m.FullName(), strings.Join(names, ", "))
			}
		}
	}
}

func compareField(d *descDiff, m protoreflect.MessageDescriptor, f protoreflect.FieldDescriptor, sdk protoreflect.MessageDescriptor) {
	where := fmt.Sprintf("%s.%s (#%d)", m.FullName(), f.Name(), f.Number())
	sf := sdk.Fields().ByNumber(f.Number())
	if sf == nil {
		if byName := sdk.Fields().ByName(f.Name()); byName != nil {
			d.diff("%s: the SDK has this field as #%d", where, byName.Number())
		} else {
			d.absent("%s: no field with this number in the %s build", where, hostkit.SDKName)
		}
		return
	}
	if sf.Name() != f.Name() {
		d.note("%s: named %q in the SDK (names do not matter on the wire)", where, sf.Name())
	}
	if f.Kind() != sf.Kind() {
		d.diff("%s: kind %v, SDK %v", where, f.Kind(), sf.Kind())
	}
	if f.Cardinality() != sf.Cardinality() {
		d.diff("%s: cardinality %v, SDK %v", where, f.Cardinality(), sf.Cardinality())
	}
	if f.IsMap() != sf.IsMap() {
		d.diff("%s: map %v, SDK map %v", where, f.IsMap(), sf.IsMap())
	}
	if f.IsPacked() != sf.IsPacked() {
		d.diff("%s: packed %v, SDK packed %v", where, f.IsPacked(), sf.IsPacked())
	}
	if f.Message() != nil && sf.Message() != nil && f.Message().FullName() != sf.Message().FullName() {
		d.diff("%s: message type %s, SDK %s", where, f.Message().FullName(), sf.Message().FullName())
	}
	if f.Enum() != nil && sf.Enum() != nil && f.Enum().FullName() != sf.Enum().FullName() {
		d.diff("%s: enum type %s, SDK %s", where, f.Enum().FullName(), sf.Enum().FullName())
	}
}

func compareEnums(d *descDiff, enums protoreflect.EnumDescriptors) {
	for i := 0; i < enums.Len(); i++ {
		e := enums.Get(i)
		desc := lookup(e.FullName())
		if desc == nil {
			d.absent("enum %s: not registered in the %s build", e.FullName(), hostkit.SDKName)
			continue
		}
		sdk, ok := desc.(protoreflect.EnumDescriptor)
		if !ok {
			d.diff("%s: an enum here, a %T there", e.FullName(), desc)
			continue
		}
		for j := 0; j < e.Values().Len(); j++ {
			v := e.Values().Get(j)
			sv := sdk.Values().ByName(v.Name())
			switch {
			case sv == nil:
				d.diff("enum %s: value %s=%d not in the SDK", e.FullName(), v.Name(), v.Number())
			case sv.Number() != v.Number():
				d.diff("enum %s: %s=%d, SDK %d", e.FullName(), v.Name(), v.Number(), sv.Number())
			}
		}
	}
}

func compareService(d *descDiff, s protoreflect.ServiceDescriptor) {
	desc := lookup(s.FullName())
	if desc == nil {
		d.absent("service %s: not registered in the %s build", s.FullName(), hostkit.SDKName)
		return
	}
	sdk, ok := desc.(protoreflect.ServiceDescriptor)
	if !ok {
		d.diff("%s: a service here, a %T there", s.FullName(), desc)
		return
	}
	for i := 0; i < s.Methods().Len(); i++ {
		m := s.Methods().Get(i)
		sm := sdk.Methods().ByName(m.Name())
		where := fmt.Sprintf("/%s/%s", s.FullName(), m.Name())
		if sm == nil {
			d.absent("%s: no such method in the %s build", where, hostkit.SDKName)
			continue
		}
		if m.Input().FullName() != sm.Input().FullName() {
			d.diff("%s: input %s, SDK %s", where, m.Input().FullName(), sm.Input().FullName())
		}
		if m.Output().FullName() != sm.Output().FullName() {
			d.diff("%s: output %s, SDK %s", where, m.Output().FullName(), sm.Output().FullName())
		}
		if m.IsStreamingClient() != sm.IsStreamingClient() || m.IsStreamingServer() != sm.IsStreamingServer() {
			d.diff("%s: streaming client=%v server=%v, SDK client=%v server=%v", where,
				m.IsStreamingClient(), m.IsStreamingServer(), sm.IsStreamingClient(), sm.IsStreamingServer())
		}
	}
}
