using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit;

/// <summary>How the TestKit shows messages in failure messages: stable type name and compact JSON, never a CLR name
/// unless the type has no stable name (then that is said).</summary>
internal static class MessageText
{
    // Readable in a failure message: '+' in a timestamp or a non-ASCII letter stays as it is.
    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Compact JSON text of <paramref name="node"/> for a message.</summary>
    public static string Compact(JsonNode? node) => node?.ToJsonString(Readable) ?? "null";

    public static string NameOf(MessageTypeRegistry registry, object value) =>
        registry.IsRegistered(value.GetType()) ? registry.NameOf(value.GetType()).Manifest : $"(unregistered {value.GetType().Name})";

    public static JsonNode? ToNode(MessageTypeRegistry registry, object? value)
    {
        if (value is null) return null;
        try { return JsonSerializer.SerializeToNode(value, value.GetType(), registry.JsonOptions); }
        catch (Exception e) { return JsonValue.Create($"<cannot be written as JSON: {e.Message}>"); }
    }

    public static string Json(MessageTypeRegistry registry, object? value) => Compact(ToNode(registry, value));

    /// <summary><c>investigation.started.v1 {"title":"APT29",...}</c></summary>
    public static string Describe(MessageTypeRegistry registry, object value) => $"{NameOf(registry, value)} {Json(registry, value)}";

    public static string List(MessageTypeRegistry registry, IReadOnlyList<object> values, string indent = "  ")
    {
        if (values.Count == 0) return indent + "(none)";
        var sb = new StringBuilder();
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0) sb.Append('\n');
            sb.Append(indent).Append(i + 1).Append(". ").Append(Describe(registry, values[i]));
        }
        return sb.ToString();
    }

    public static string Count(int n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";

    /// <summary>Removes members named in <paramref name="ignored"/> (case-insensitive, at any depth).</summary>
    public static JsonNode? Without(JsonNode? node, IReadOnlyCollection<string> ignored)
    {
        if (node is null || ignored.Count == 0) return node;
        var copy = node.DeepClone();
        Strip(copy, ignored);
        return copy;
    }

    private static void Strip(JsonNode? node, IReadOnlyCollection<string> ignored)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    if (ignored.Contains(key, StringComparer.OrdinalIgnoreCase)) o.Remove(key);
                    else Strip(o[key], ignored);
                }
                break;
            case JsonArray a:
                foreach (var item in a) Strip(item, ignored);
                break;
        }
    }

    /// <summary>The first place where two JSON values differ, as <c>$.path: expected X, actual Y</c>; null when equal.</summary>
    public static string? FirstDifference(JsonNode? expected, JsonNode? actual, string path = "$")
    {
        switch (expected, actual)
        {
            case (null, null):
                return null;
            case (JsonObject e, JsonObject a):
                foreach (var (key, value) in e)
                {
                    if (!a.ContainsKey(key)) return $"{path}.{key}: expected {Show(value)}, actual member is missing";
                    if (FirstDifference(value, a[key], $"{path}.{key}") is { } d) return d;
                }
                foreach (var (key, value) in a)
                    if (!e.ContainsKey(key)) return $"{path}.{key}: not expected, actual {Show(value)}";
                return null;
            case (JsonArray e, JsonArray a):
                for (var i = 0; i < Math.Min(e.Count, a.Count); i++)
                    if (FirstDifference(e[i], a[i], $"{path}[{i}]") is { } d) return d;
                return e.Count == a.Count ? null : $"{path}: expected {e.Count} items, actual {a.Count}";
            default:
                return JsonNode.DeepEquals(expected, actual) ? null : $"{path}: expected {Show(expected)}, actual {Show(actual)}";
        }
    }

    private static string Show(JsonNode? node) => Compact(node);
}
