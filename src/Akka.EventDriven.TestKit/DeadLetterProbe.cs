using Akka.EventDriven.EventBus;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// Waits for messages in a bus dead-letter queue (polling it with a deadline) and asserts on them. Failures list what
/// the queue holds.
/// </summary>
/// <example><code>
/// var dlq = node.DeadLetterProbe("alerts-dlq");
/// DeadLetter letter = await dlq.ExpectDeadLetterAsync&lt;Ping&gt;(p =&gt; p.N == 13);
/// Assert.Equal(4, letter.Attempts);
/// </code></example>
public sealed class DeadLetterProbe
{
    private readonly MessageTypeRegistry _registry;

    internal DeadLetterProbe(MessageBus bus, MessageTypeRegistry registry, string? queue)
    {
        Queue = bus.DeadLetters(queue);
        _registry = registry;
    }

    /// <summary>The dead-letter queue.</summary>
    public DeadLetterQueue Queue { get; }

    /// <summary>Default wait: 15 s (a message is dead-lettered only after its retries).</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Waits until a dead letter matching <paramref name="match"/> (any, by default) is in the queue; returns it.</summary>
    public async Task<DeadLetter> ExpectDeadLetterAsync(Func<DeadLetter, bool>? match = null, string? description = null, TimeSpan? timeout = null)
    {
        DeadLetter? found = null;
        IReadOnlyList<DeadLetter> last = [];
        var limit = timeout ?? DefaultTimeout;
        await Wait.UntilAsync(async () =>
        {
            last = await Queue.ListAsync(1000);
            found = last.FirstOrDefault(l => match?.Invoke(l) ?? true);
            return found is not null;
        }, limit, () => $"DeadLetterProbe on '{Queue.Name}': expected a dead letter{(description is null ? "" : $" ({description})")} within {limit}, " +
                        $"but the queue holds {Describe(last)}");
        return found!;
    }

    /// <summary>Waits until a dead letter whose payload is a <typeparamref name="T"/> satisfying <paramref name="match"/> is in the queue.</summary>
    public Task<DeadLetter> ExpectDeadLetterAsync<T>(Func<T, bool>? match = null, string? description = null, TimeSpan? timeout = null)
    {
        var expected = _registry.IsRegistered(typeof(T)) ? _registry.NameOf(typeof(T)).Manifest : typeof(T).Name;
        return ExpectDeadLetterAsync(l => l.Type == expected && (match is null || match(PayloadOf<T>(l))),
            description ?? $"a {expected}{(match is null ? "" : " that satisfies the predicate")}", timeout);
    }

    /// <summary>The payload of <paramref name="letter"/> read as <typeparamref name="T"/> (through the registry, upcasting old versions).</summary>
    public T PayloadOf<T>(DeadLetter letter) =>
        _registry.Deserialize(System.Text.Encoding.UTF8.GetBytes(letter.Json), letter.Type) is T t
            ? t
            : throw new EventDrivenAssertionException($"Dead letter {letter.Id} in '{Queue.Name}' holds {letter.Type} {letter.Json}, not a {typeof(T).Name}.");

    /// <summary>The queue holds exactly <paramref name="count"/> letters once it settles; waits up to the timeout for it.</summary>
    public async Task<IReadOnlyList<DeadLetter>> ExpectCountAsync(int count, TimeSpan? timeout = null)
    {
        IReadOnlyList<DeadLetter> last = [];
        var limit = timeout ?? DefaultTimeout;
        await Wait.UntilAsync(async () => (last = await Queue.ListAsync(Math.Max(1, count + 1))).Count == count, limit,
            () => $"DeadLetterProbe on '{Queue.Name}': expected {MessageText.Count(count, "dead letter")} within {limit}, but it holds {Describe(last)}");
        return last;
    }

    /// <summary>The queue stays empty for <paramref name="duration"/>.</summary>
    public async Task ExpectEmptyAsync(TimeSpan duration)
    {
        var deadline = DateTime.UtcNow + duration;
        do
        {
            var letters = await Queue.ListAsync(10);
            if (letters.Count > 0)
                throw new EventDrivenAssertionException($"DeadLetterProbe on '{Queue.Name}': expected no dead letter, but it holds {Describe(letters)}");
            await Task.Delay(50);
        } while (DateTime.UtcNow < deadline);
    }

    private static string Describe(IReadOnlyList<DeadLetter> letters) => letters.Count == 0
        ? "none"
        : $"{MessageText.Count(letters.Count, "letter")}:\n" + string.Join("\n", letters.Take(20).Select(l =>
            $"  #{l.Id} {l.Type} {l.Json} from '{l.OriginalTopic}' after {l.Attempts} attempts: {l.Reason}"));
}
