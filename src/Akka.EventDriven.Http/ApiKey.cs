using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.Http;

/// <summary>An API key and its role.</summary>
/// <param name="Key">The secret sent in the <c>X-Api-Key</c> header.</param>
/// <param name="Role">What it may do.</param>
public sealed record ApiKey(string Key, ApiRole Role)
{
    /// <summary>Reads a comma list of <c>key:role</c> (role <c>read</c> or <c>admin</c>; a key without a role is
    /// <c>read</c>), the format of <c>EVENTDRIVEN_API_KEYS</c>. Throws <see cref="FormatException"/> naming the bad entry.</summary>
    public static IReadOnlyList<ApiKey> ParseList(string? text)
    {
        var keys = new List<ApiKey>();
        foreach (var raw in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = raw.LastIndexOf(':');
            var (key, role) = colon < 0 ? (raw, "read") : (raw[..colon], raw[(colon + 1)..]);
            if (key.Length < 16)
                throw new FormatException($"API key '{Mask(key)}' is too short: use at least 16 characters.");
            keys.Add(new ApiKey(key, role.ToLowerInvariant() switch
            {
                "read" => ApiRole.Read,
                "admin" => ApiRole.Admin,
                _ => throw new FormatException($"API key '{Mask(key)}' has role '{role}': use 'read' or 'admin'."),
            }));
        }
        return keys;
    }

    internal static string Mask(string key) => key.Length <= 4 ? "****" : key[..4] + "****";
}
