using System.Text.RegularExpressions;

namespace Akka.EventDriven.Storage;

/// <summary>Checks of table names that come from configuration and are written into SQL text.</summary>
internal static partial class SqlNames
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$")]
    private static partial Regex Identifier();

    /// <summary>Throws unless <paramref name="name"/> is a plain identifier (optionally <c>schema.table</c>).</summary>
    public static string Validate(string name)
    {
        if (string.IsNullOrEmpty(name) || !Identifier().IsMatch(name))
            throw new ArgumentException($"'{name}' is not a valid table name (letters, digits and underscores, optionally schema-qualified).", nameof(name));
        return name;
    }
}
