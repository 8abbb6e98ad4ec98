using System.Globalization;
using System.Text;

namespace Akka.EventDriven;

/// <summary>
/// Writes option values as HOCON: every module's hosting options (<c>XOptions</c>) turn their non-null properties into
/// HOCON through these, so a value with quotes, backslashes or newlines arrives exactly as given and can never end
/// the string early and set another key.
/// </summary>
public static class HoconText
{
    /// <summary>A quoted HOCON string whose value is exactly <paramref name="value"/>.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A HOCON duration in whole milliseconds (<c>1500ms</c>).</summary>
    public static string Duration(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    /// <summary>A HOCON boolean (<c>on</c> / <c>off</c>).</summary>
    public static string Bool(bool value) => value ? "on" : "off";
}
