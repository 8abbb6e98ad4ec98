using System.Threading.Channels;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// A bus subscription that records what it receives, for assertions: the messages of a topic (or of one group, or a
/// durable topic, by <see cref="SubscriptionOptions"/>) in arrival order. Failures name the topic and show the
/// messages as stable type names and JSON. Holds at most 10,000 unread messages (the subscription's buffer takes over
/// past that).
/// </summary>
/// <example><code>
/// await using var probe = await TopicProbe&lt;Threat&gt;.SubscribeAsync(system, "intel.threats");
/// await bus.PublishAsync("intel.threats", new Threat(9, "APT29"));
/// await probe.ExpectMessageAsync(new Threat(9, "APT29"));
/// await probe.ExpectNoMessageAsync(TimeSpan.FromMilliseconds(300));
/// </code></example>
/// <typeparam name="T">The payload type (messages of other types on the topic are skipped).</typeparam>
public sealed class TopicProbe<T> : IAsyncDisposable
{
    private readonly Channel<BusMessage<T>> _received = Channel.CreateBounded<BusMessage<T>>(10_000);
    private readonly MessageTypeRegistry _registry;
    private readonly List<BusMessage<T>> _seen = new();
    private IBusSubscription? _subscription;

    private TopicProbe(string topic, SubscriptionOptions? options, MessageTypeRegistry registry)
    {
        Topic = topic;
        Options = options ?? new SubscriptionOptions();
        _registry = registry;
    }

    /// <summary>Subscribes a probe to <paramref name="topic"/> on the bus of <paramref name="system"/>; returns once the subscription is registered on this node.</summary>
    public static async Task<TopicProbe<T>> SubscribeAsync(Akka.Actor.ActorSystem system, string topic, SubscriptionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        var bus = MessageBus.Get(system);
        var probe = new TopicProbe<T>(topic, options, MessageTypes.For(system));
        probe._subscription = await bus.SubscribeAsync<T>(topic, (m, ct) => probe._received.Writer.WriteAsync(m, ct).AsTask(), options);
        return probe;
    }

    /// <summary>The topic (or pattern) subscribed to.</summary>
    public string Topic { get; }

    /// <summary>The subscription's options.</summary>
    public SubscriptionOptions Options { get; }

    /// <summary>Every message taken from the probe so far, in order.</summary>
    public IReadOnlyList<BusMessage<T>> Seen => _seen;

    /// <summary>Default wait of the expectations: 10 s (generous: a loaded CI machine).</summary>
    public TimeSpan DefaultTimeout { get; set; } = Wait.Default;

    /// <summary>The next message, whatever it is.</summary>
    public async Task<BusMessage<T>> ExpectMessageAsync(TimeSpan? timeout = null) =>
        await NextAsync(timeout, "a message") ?? throw Timeout("a message", timeout);

    /// <summary>The next message's payload equals <paramref name="expected"/> (by <c>Equals</c>, or the same JSON).</summary>
    public async Task<BusMessage<T>> ExpectMessageAsync(T expected, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var what = MessageText.Describe(_registry, expected);
        var m = await NextAsync(timeout, what) ?? throw Timeout(what, timeout);
        if (Equals(m.Payload, expected)) return m;
        if (MessageText.FirstDifference(MessageText.ToNode(_registry, expected), MessageText.ToNode(_registry, m.Payload)) is { } diff)
            throw new EventDrivenAssertionException(
                $"TopicProbe on '{Topic}': expected {what}\nbut the next message was {Show(m)}\n({diff})");
        return m;
    }

    /// <summary>The next message's payload satisfies <paramref name="predicate"/> (named by <paramref name="description"/> in the failure).</summary>
    public async Task<BusMessage<T>> ExpectMessageAsync(Func<T, bool> predicate, string? description = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var what = $"a {typeof(T).Name} that satisfies {description ?? "the predicate"}";
        var m = await NextAsync(timeout, what) ?? throw Timeout(what, timeout);
        if (!predicate(m.Payload))
            throw new EventDrivenAssertionException($"TopicProbe on '{Topic}': expected {what}\nbut the next message was {Show(m)}");
        return m;
    }

    /// <summary>No message arrives for <paramref name="duration"/>. Waits the whole duration when it passes.</summary>
    public async Task ExpectNoMessageAsync(TimeSpan duration)
    {
        if (await NextAsync(duration, null) is { } m)
            throw new EventDrivenAssertionException($"TopicProbe on '{Topic}': expected no message for {duration}, but received {Show(m)}");
    }

    /// <summary>The next <paramref name="count"/> messages, within <paramref name="timeout"/> in total.</summary>
    public async Task<IReadOnlyList<BusMessage<T>>> ReceiveNAsync(int count, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        var got = new List<BusMessage<T>>(count);
        while (got.Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            var m = left > TimeSpan.Zero ? await NextAsync(left, null) : null;
            if (m is null)
                throw new EventDrivenAssertionException(
                    $"TopicProbe on '{Topic}': expected {count} messages within {limit}, received {got.Count}" +
                    (got.Count == 0 ? "" : ":\n" + string.Join("\n", got.Select((g, i) => $"  {i + 1}. {Show(g)}"))));
            got.Add(m);
        }
        return got;
    }

    /// <summary>Unsubscribes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_subscription is { } s) await s.DisposeAsync();
        _received.Writer.TryComplete();
    }

    private async Task<BusMessage<T>?> NextAsync(TimeSpan? timeout, string? _)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            var m = await _received.Reader.ReadAsync(cts.Token);
            _seen.Add(m);
            return m;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    private EventDrivenAssertionException Timeout(string what, TimeSpan? timeout) =>
        new($"TopicProbe on '{Topic}'{(Options.Group is { } g ? $" (group '{g}')" : "")}: expected {what} within {timeout ?? DefaultTimeout}, " +
            $"but none arrived ({MessageText.Count(_seen.Count, "message")} received before" +
            (_seen.Count == 0 ? ")" : $", the last: {Show(_seen[^1])})"));

    private string Show(BusMessage<T> m) => $"{MessageText.Describe(_registry, m.Payload!)} (id {m.Id})";
}
