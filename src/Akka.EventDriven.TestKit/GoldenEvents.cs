using System.Collections;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// The "golden events" compatibility check: the JSON shape (member names and kinds, nested) of every registered type is
/// kept in a committed file, and the check fails when a type's shape changes while its stable name and version stay the
/// same — events already stored under that version would no longer read as they were written. Types of older versions
/// that are no longer registered stay in the file, and the check proves the registry still reads them (through the
/// upcaster chain or the old type) from a sample built from their recorded shape.
/// </summary>
/// <remarks>A missing file, or a type not in the file yet, fails too; set the environment variable
/// <c>UPDATE_GOLDEN_EVENTS=1</c> (or pass <c>update: true</c>) to write the current shapes, then commit the file.</remarks>
/// <example><code>
/// GoldenEvents.Verify(registry, "golden-events.json");
/// </code></example>
public static class GoldenEvents
{
    /// <summary>The environment variable that makes <see cref="Verify"/> write the file instead of failing.</summary>
    public const string UpdateVariable = "UPDATE_GOLDEN_EVENTS";

    /// <summary>The current shape of every registered type that <paramref name="include"/> accepts (all by default), by
    /// stored name (<c>name.vN</c>), in name order.</summary>
    public static JsonObject Shapes(MessageTypeRegistry registry, Func<Type, bool>? include = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var shapes = new JsonObject();
        foreach (var (type, name) in registry.Registrations.Where(r => include?.Invoke(r.Key) ?? true).OrderBy(r => r.Value.Manifest, StringComparer.Ordinal))
            shapes[name.Manifest] = ShapeOf(registry.JsonOptions, type, []);
        return shapes;
    }

    /// <summary>Compares the registry's current shapes with <paramref name="goldenFile"/>; throws
    /// <see cref="EventDrivenAssertionException"/> listing every incompatible change. With <paramref name="update"/>
    /// (default: the <c>UPDATE_GOLDEN_EVENTS</c> environment variable is 1) the file is written instead (keeping the
    /// entries of types no longer registered).</summary>
    public static void Verify(MessageTypeRegistry registry, string goldenFile, Func<Type, bool>? include = null, bool? update = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(goldenFile);
        var current = Shapes(registry, include);
        var golden = File.Exists(goldenFile) ? JsonNode.Parse(File.ReadAllText(goldenFile)) as JsonObject : null;
        if (update ?? Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            var merged = new JsonObject();
            var names = current.Select(p => p.Key).Concat(golden?.Select(p => p.Key) ?? []).Distinct().OrderBy(k => k, StringComparer.Ordinal);
            foreach (var name in names) merged[name] = (current[name] ?? golden![name])!.DeepClone();
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(goldenFile))!);
            File.WriteAllText(goldenFile, merged.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            return;
        }
        if (golden is null)
            throw new EventDrivenAssertionException(
                $"Golden events file '{Path.GetFullPath(goldenFile)}' does not exist (or is not a JSON object). " +
                $"Write it with {UpdateVariable}=1 and commit it: it records the JSON shape of {current.Count} registered types.");

        var problems = new List<string>();
        foreach (var (name, shape) in current)
        {
            if (!golden.ContainsKey(name))
                problems.Add($"{name} is not in the golden file yet (new type): accept it with {UpdateVariable}=1.");
            else if (MessageText.FirstDifference(golden[name], shape) is { } diff)
                problems.Add($"{name} changed its JSON shape without a new version ({diff.Replace("expected", "was").Replace("actual", "now")}). " +
                             $"Events stored as {name} would no longer read as written: give the type a new version and an upcaster " +
                             $"from the old one, or restore the shape.");
        }
        foreach (var (name, shape) in golden)
        {
            if (current.ContainsKey(name) || !MessageTypeName.TryParse(name, out var typeName)) continue;
            if (include is not null && !registry.Registrations.Values.Any(v => v.Name == typeName.Name)) continue;
            var sample = MessageText.Compact(SampleOf(shape));
            try
            {
                registry.Deserialize(Encoding.UTF8.GetBytes(sample), name);
            }
            catch (Exception e)
            {
                problems.Add($"{name} (in the golden file, no longer registered) can no longer be read: {e.Message} " +
                             $"(sample {sample}). Register an upcaster to the current version.");
            }
        }
        if (problems.Count > 0)
            throw new EventDrivenAssertionException(
                $"Golden events check against '{goldenFile}' failed:\n" + string.Join("\n", problems.Select(p => "  - " + p)));
    }

    private static JsonNode ShapeOf(JsonSerializerOptions options, Type type, HashSet<Type> path)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type == typeof(char) || type == typeof(Guid) || type == typeof(Uri)) return "string";
        if (type == typeof(bool)) return "boolean";
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(DateOnly)) return "date-time";
        if (type == typeof(TimeSpan) || type == typeof(TimeOnly)) return "time";
        if (type.IsEnum) return "enum(" + string.Join("|", Enum.GetNames(type)) + ")";
        if (type.IsPrimitive || type == typeof(decimal) || type == typeof(Half) || type == typeof(Int128) || type == typeof(UInt128)) return "number";
        if (type == typeof(object) || typeof(JsonNode).IsAssignableFrom(type) || type == typeof(JsonElement) || type == typeof(JsonDocument)) return "any";
        if (!path.Add(type)) return $"ref({type.Name})";
        try
        {
            var info = options.GetTypeInfo(type);
            switch (info.Kind)
            {
                case JsonTypeInfoKind.Dictionary:
                    return new JsonObject { ["*"] = ShapeOf(options, info.ElementType ?? typeof(object), path) };
                case JsonTypeInfoKind.Enumerable:
                    return new JsonArray(ShapeOf(options, info.ElementType ?? typeof(object), path));
                case JsonTypeInfoKind.Object:
                    var shape = new JsonObject();
                    foreach (var p in info.Properties.Where(p => p.Get is not null || p.Set is not null).OrderBy(p => p.Name, StringComparer.Ordinal))
                        shape[p.Name] = ShapeOf(options, p.PropertyType, path);
                    return shape;
                default:
                    return typeof(IEnumerable).IsAssignableFrom(type) ? new JsonArray("any") : "value";
            }
        }
        finally
        {
            path.Remove(type);
        }
    }

    /// <summary>A payload of the recorded shape with neutral values, to prove an old version is still readable.</summary>
    private static JsonNode? SampleOf(JsonNode? shape) => shape switch
    {
        JsonObject o when o.ContainsKey("*") => new JsonObject(),
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, SampleOf(p.Value)))),
        JsonArray => new JsonArray(),
        JsonValue v when v.GetValue<string>() is var s => s switch
        {
            "string" => "x",
            "boolean" => false,
            "number" => 0,
            "date-time" => "2000-01-01T00:00:00+00:00",
            "time" => "00:00:00",
            _ when s.StartsWith("enum(", StringComparison.Ordinal) => s[5..^1].Split('|')[0],
            _ => null,
        },
        _ => null,
    };
}
