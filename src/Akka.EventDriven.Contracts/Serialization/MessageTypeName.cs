using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Akka.EventDriven.Serialization;

/// <summary>A stable message type name and version; stored as the manifest <c>name.vN</c>.</summary>
/// <param name="Name">The stable name, e.g. <c>investigation.started</c>.</param>
/// <param name="Version">The version, 1 or more.</param>
public readonly partial record struct MessageTypeName(string Name, int Version)
{
    /// <summary>The stored form, e.g. <c>investigation.started.v1</c>.</summary>
    public string Manifest => $"{Name}.v{Version}";

    /// <inheritdoc />
    public override string ToString() => Manifest;

    /// <summary>Parses <c>name.vN</c>; false when the text has no version suffix.</summary>
    public static bool TryParse(string manifest, out MessageTypeName typeName)
    {
        var m = ManifestPattern().Match(manifest);
        if (m.Success && int.TryParse(m.Groups[2].ValueSpan, out var v))
        {
            typeName = new MessageTypeName(m.Groups[1].Value, v);
            return true;
        }
        typeName = default;
        return false;
    }

    [GeneratedRegex(@"\A(.+)\.v([0-9]{1,9})\z", RegexOptions.CultureInvariant)]
    private static partial Regex ManifestPattern();
}
