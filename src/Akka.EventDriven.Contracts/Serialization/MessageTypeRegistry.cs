using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Akka.EventDriven.Serialization;

/// <summary>
/// The registry of stable message type names: maps each event, command and state type to a name and version
/// (never a CLR type name), serializes them as JSON with System.Text.Json, and upgrades old versions on read
/// (upcasting). Only registered types can ever be instantiated by <c>Deserialize</c>, so a stored or
/// received payload cannot make the platform create an arbitrary CLR type.
/// Register everything before the actor system starts; lookups are thread-safe.
/// </summary>
public sealed partial class MessageTypeRegistry
{
    /// <summary>Longest accepted type name.</summary>
    public const int MaxNameLength = 200;

    private readonly ConcurrentDictionary<Type, MessageTypeName> _byType = new();
    private readonly ConcurrentDictionary<string, Type> _byManifest = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _latest = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Name, int From), Func<JsonObject, JsonObject>> _upcasters = new();
    // Resolved manifests (the read hot path); cleared whenever a registration changes what a manifest resolves to.
    private readonly ConcurrentDictionary<string, (Type Target, List<Func<JsonObject, JsonObject>> Upcasters)> _resolved = new(StringComparer.Ordinal);

    /// <summary>Creates a registry using <paramref name="jsonOptions"/>, or camelCase JSON with string enums by default.</summary>
    public MessageTypeRegistry(JsonSerializerOptions? jsonOptions = null)
    {
        JsonOptions = jsonOptions ?? new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            Converters = { new JsonStringEnumConverter() },
        };
        JsonOptions.MakeReadOnly(populateMissingResolver: true);
    }

    /// <summary>The JSON options every payload is (de)serialized with.</summary>
    public JsonSerializerOptions JsonOptions { get; }

    /// <summary>Every registered type with its name.</summary>
    public IReadOnlyDictionary<Type, MessageTypeName> Registrations => _byType;

    /// <summary>Registers <typeparamref name="T"/> as <c>name.vVersion</c>.</summary>
    public MessageTypeRegistry Register<T>(string name, int version = 1) => Register(typeof(T), name, version);

    /// <summary>Registers <paramref name="type"/> as <c>name.vVersion</c>. Registering the same pair again is a no-op;
    /// a clash (the name taken by another type, or the type already named otherwise) throws.</summary>
    public MessageTypeRegistry Register(Type type, string name, int version = 1)
    {
        ArgumentNullException.ThrowIfNull(type);
        ValidateName(name);
        if (version < 1) throw new ArgumentOutOfRangeException(nameof(version), version, "Versions start at 1.");
        if (type.IsAbstract || type.IsInterface || type.ContainsGenericParameters)
            throw new ArgumentException($"'{type}' is not a concrete type and cannot be registered.", nameof(type));

        var typeName = new MessageTypeName(name, version);
        lock (_byType)
        {
            if (_byManifest.TryGetValue(typeName.Manifest, out var existing) && existing != type)
                throw new InvalidOperationException($"'{typeName}' is already registered for '{existing.FullName}'.");
            if (_byType.TryGetValue(type, out var named) && named != typeName)
                throw new InvalidOperationException($"'{type.FullName}' is already registered as '{named}'.");
            _byType[type] = typeName;
            _byManifest[typeName.Manifest] = type;
            _latest.AddOrUpdate(name, version, (_, v) => Math.Max(v, version));
            _resolved.Clear();
        }
        return this;
    }

    /// <summary>Registers every type of <paramref name="assembly"/> marked with <see cref="EventTypeAttribute"/>.</summary>
    public MessageTypeRegistry RegisterAssembly(Assembly assembly)
    {
        foreach (var t in assembly.GetTypes())
            if (t.GetCustomAttribute<EventTypeAttribute>() is { } a)
                Register(t, a.Name, a.Version);
        return this;
    }

    /// <summary>Adds an upcaster that turns the JSON of <c>name.v{fromVersion}</c> into <c>name.v{fromVersion+1}</c>.
    /// Upcasters chain, so a v1 payload reaches v3 through 1→2 and 2→3; the old CLR types can then be deleted.</summary>
    public MessageTypeRegistry AddUpcaster(string name, int fromVersion, Func<JsonObject, JsonObject> upcast)
    {
        ValidateName(name);
        ArgumentNullException.ThrowIfNull(upcast);
        if (fromVersion < 1) throw new ArgumentOutOfRangeException(nameof(fromVersion), fromVersion, "Versions start at 1.");
        if (!_upcasters.TryAdd((name, fromVersion), upcast))
            throw new InvalidOperationException($"An upcaster from '{name}.v{fromVersion}' is already registered.");
        _resolved.Clear();
        return this;
    }

    /// <summary>True when <paramref name="type"/> has a stable name.</summary>
    public bool IsRegistered(Type type) => _byType.ContainsKey(type);

    /// <summary>The stable name of <paramref name="type"/>; throws <see cref="UnregisteredMessageTypeException"/> when it has none.</summary>
    public MessageTypeName NameOf(Type type) =>
        _byType.TryGetValue(type, out var n) ? n : throw new UnregisteredMessageTypeException(type);

    /// <summary>Serializes <paramref name="value"/> to UTF-8 JSON and returns it with its manifest.</summary>
    public byte[] Serialize(object value, out string manifest)
    {
        ArgumentNullException.ThrowIfNull(value);
        manifest = NameOf(value.GetType()).Manifest;
        return JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), JsonOptions);
    }

    /// <summary>Writes <paramref name="value"/>'s JSON (without its name) to <paramref name="writer"/>.</summary>
    public void WritePayload(Utf8JsonWriter writer, object value) =>
        JsonSerializer.Serialize(writer, value, value.GetType(), JsonOptions);

    /// <summary>Writes <c>{"type": manifest, "data": json}</c> for a value whose type travels with it.</summary>
    public void WriteTyped(Utf8JsonWriter writer, object value)
    {
        var name = NameOf(value.GetType());
        writer.WriteStartObject();
        writer.WriteString("type", name.Manifest);
        writer.WritePropertyName("data");
        WritePayload(writer, value);
        writer.WriteEndObject();
    }

    /// <summary>Reads what <see cref="WriteTyped"/> wrote.</summary>
    public object ReadTyped(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
            || !element.TryGetProperty("data", out var data))
            throw new JsonException("Expected {\"type\": \"name.vN\", \"data\": …}.");
        return Deserialize(data, type.GetString()!);
    }

    /// <summary>Deserializes a payload stored under <paramref name="manifest"/>, upcasting old versions.</summary>
    public object Deserialize(ReadOnlySpan<byte> utf8Json, string manifest)
    {
        var (target, upcast) = Resolve(manifest);
        if (upcast.Count == 0)
            return JsonSerializer.Deserialize(utf8Json, target, JsonOptions) ?? throw NullPayload(manifest);
        var node = JsonNode.Parse(utf8Json) as JsonObject ?? throw new JsonException($"'{manifest}' payload is not a JSON object.");
        return Finish(node, target, upcast, manifest);
    }

    /// <summary>Deserializes a payload stored under <paramref name="manifest"/>, upcasting old versions.</summary>
    public object Deserialize(JsonElement json, string manifest)
    {
        var (target, upcast) = Resolve(manifest);
        if (upcast.Count == 0)
            return json.Deserialize(target, JsonOptions) ?? throw NullPayload(manifest);
        var node = JsonObject.Create(json) ?? throw new JsonException($"'{manifest}' payload is not a JSON object.");
        return Finish(node, target, upcast, manifest);
    }

    private object Finish(JsonObject node, Type target, List<Func<JsonObject, JsonObject>> upcast, string manifest)
    {
        foreach (var step in upcast) node = step(node);
        return node.Deserialize(target, JsonOptions) ?? throw NullPayload(manifest);
    }

    private static JsonException NullPayload(string manifest) => new($"'{manifest}' payload deserialized to null.");

    private (Type Target, List<Func<JsonObject, JsonObject>> Upcasters) Resolve(string manifest)
    {
        if (_resolved.TryGetValue(manifest, out var known)) return known;
        var resolved = ResolveUncached(manifest);
        _resolved.TryAdd(manifest, resolved);
        return resolved;
    }

    private (Type Target, List<Func<JsonObject, JsonObject>> Upcasters) ResolveUncached(string manifest)
    {
        if (!MessageTypeName.TryParse(manifest, out var stored))
            throw new UnknownMessageTypeException(manifest, "it is not of the form 'name.vN'.");
        if (!_latest.TryGetValue(stored.Name, out var latest))
            throw new UnknownMessageTypeException(manifest, "no type is registered under this name.");
        if (stored.Version > latest)
            throw new UnknownMessageTypeException(manifest, $"it is newer than the newest registered version (v{latest}).");

        var steps = new List<Func<JsonObject, JsonObject>>();
        for (var v = stored.Version; v < latest; v++)
        {
            if (!_upcasters.TryGetValue((stored.Name, v), out var step)) { steps = null; break; }
            steps.Add(step);
        }
        if (steps is not null && _byManifest.TryGetValue(new MessageTypeName(stored.Name, latest).Manifest, out var newest))
            return (newest, steps);
        // No complete upcaster chain: an old version is readable only if its own CLR type is still registered.
        if (_byManifest.TryGetValue(manifest, out var old))
            return (old, []);
        throw new UnknownMessageTypeException(manifest,
            $"no type is registered for this version and there is no upcaster chain to v{latest}.");
    }

    private static void ValidateName(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("A message type name must not be empty.", nameof(name));
        if (name.Length > MaxNameLength)
            throw new ArgumentException($"Message type name '{name[..40]}…' is longer than {MaxNameLength} characters.", nameof(name));
        if (!NamePattern().IsMatch(name))
            throw new ArgumentException(
                $"Message type name '{name}' is invalid: use letters, digits, '.', '-' and '_', starting with a letter or digit, and no '.vN' suffix (the version is separate).",
                nameof(name));
    }

    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._-]*\z(?<!\.v[0-9]+)", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
