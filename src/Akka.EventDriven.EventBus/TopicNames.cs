namespace Akka.EventDriven.EventBus;

/// <summary>
/// Topic, queue and subject names: 1-200 characters of letters, digits, '.', '-' and '_', in dot-separated
/// segments (no empty segment). Subscription patterns may use '*' as a whole segment: inside a pattern it matches exactly
/// one segment, as the last segment it matches one or more (so <c>intel.*</c> is every topic under <c>intel.</c>).
/// </summary>
public static class TopicNames
{
    /// <summary>Longest accepted name.</summary>
    public const int MaxLength = 200;

    /// <summary>Throws <see cref="ArgumentException"/> naming the problem when <paramref name="name"/> is not a valid
    /// name (or pattern, when <paramref name="allowWildcards"/>).</summary>
    public static void Validate(string? name, bool allowWildcards = false, string kind = "topic")
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException($"The {kind} name is empty.", nameof(name));
        if (name.Length > MaxLength)
            throw new ArgumentException($"The {kind} name '{name[..40]}...' is {name.Length} characters long; the limit is {MaxLength}.", nameof(name));
        // One pass over the characters, no allocation: publishing validates the topic of every message.
        var start = 0;
        for (var i = 0; i <= name.Length; i++)
        {
            if (i < name.Length && name[i] != '.') continue;
            var segment = name.AsSpan(start, i - start);
            if (segment.Length == 0)
                throw new ArgumentException($"The {kind} name '{name}' has an empty segment (leading, trailing or double '.').", nameof(name));
            if (segment is "*")
            {
                if (!allowWildcards)
                    throw new ArgumentException($"The {kind} name '{name}' contains the wildcard '*', which only subscriptions may use.", nameof(name));
            }
            else
            {
                foreach (var c in segment)
                    if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                        throw new ArgumentException(
                            $"The {kind} name '{name}' contains '{c}': use letters, digits, '-', '_' and '.' (and '*' as a whole segment in subscription patterns).",
                            nameof(name));
            }
            start = i + 1;
        }
    }

    /// <summary>True when <paramref name="name"/> contains a wildcard segment.</summary>
    public static bool IsPattern(string name) => name == "*" || name.StartsWith("*.", StringComparison.Ordinal)
                                                 || name.Contains(".*", StringComparison.Ordinal);

    /// <summary>True when topic <paramref name="topic"/> matches subscription pattern <paramref name="pattern"/>.</summary>
    public static bool Matches(string pattern, string topic)
    {
        int p = 0, t = 0;
        while (true)
        {
            var pEnd = pattern.IndexOf('.', p);
            var pSeg = pEnd < 0 ? pattern.AsSpan(p) : pattern.AsSpan(p, pEnd - p);
            if (t > topic.Length) return false;
            var tEnd = topic.IndexOf('.', t);
            var tSeg = tEnd < 0 ? topic.AsSpan(t) : topic.AsSpan(t, tEnd - t);
            if (pSeg is "*")
            {
                if (pEnd < 0) return true; // trailing '*': one or more segments
            }
            else if (!pSeg.SequenceEqual(tSeg)) return false;
            if (pEnd < 0) return tEnd < 0;
            if (tEnd < 0) return false;
            p = pEnd + 1;
            t = tEnd + 1;
        }
    }
}
