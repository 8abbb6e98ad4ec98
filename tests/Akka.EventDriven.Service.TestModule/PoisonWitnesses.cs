using Akka.EventDriven.EventBus;
using Akka.Hosting;

namespace Akka.EventDriven.Service.TestModule;

/// <summary>
/// The consumers of the poison fault test, switched on by <c>TESTMODULE_POISON=on</c> (the table must exist; the test
/// creates it from <see cref="Schema"/>). A notice whose text starts with <c>poison</c> fails every time it is handled;
/// any other is recorded in <c>fault_handled (consumer, message_id, deliveries)</c>, counting how often it was handled.
/// <list type="bullet">
/// <item>the durable topic <see cref="Topic"/>, group <c>poison-dedup</c>, deduplicating (poison to <see cref="TopicDeadLetters"/>);</item>
/// <item>the queue <see cref="Queue"/>, one consumer per node (poison to <see cref="QueueDeadLetters"/>); on a node started
/// with <c>TESTMODULE_HANG=on</c> that consumer's handler hangs on every message and ignores cancellation, like a
/// call to a service that never answers: its deliveries time out and must end handled elsewhere or dead-lettered.</item>
/// </list>
/// </summary>
public static class PoisonWitnesses
{
    public const string Variable = "TESTMODULE_POISON";
    public const string HangVariable = "TESTMODULE_HANG";
    public const string Topic = "poison-notices";
    public const string Queue = "poison-work";
    public const string TopicDeadLetters = "poison-topic-dlq";
    public const string QueueDeadLetters = "poison-queue-dlq";

    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) is "on";

    private static bool Hangs => Environment.GetEnvironmentVariable(HangVariable) is "on";

    public const string Schema = """
        CREATE TABLE IF NOT EXISTS fault_handled (consumer text NOT NULL, message_id text NOT NULL, deliveries int NOT NULL,
                                                  PRIMARY KEY (consumer, message_id));
        """;

    // A hung handler's task: never completes.
    private static readonly TaskCompletionSource Never = new();

    public static void Add(AkkaConfigurationBuilder builder)
    {
        builder.AddStartup(async (system, _) =>
        {
            var bus = MessageBus.Get(system);
            await bus.SubscribeAsync<Notice>(Topic, (m, _) => HandleAsync("topic", m),
                new SubscriptionOptions
                {
                    Durable = true, Group = "poison-dedup", DeduplicationWindow = TimeSpan.FromHours(1),
                    MaxRetries = 2, RetryBackoff = TimeSpan.FromMilliseconds(20), DeadLetterQueue = TopicDeadLetters,
                });
            var hangs = Hangs;
            await bus.ConsumeAsync<Notice>(Queue, (m, _) => hangs ? Never.Task : HandleAsync("queue", m),
                new SubscriptionOptions
                {
                    MaxRetries = 2, RetryBackoff = TimeSpan.FromMilliseconds(20), DeadLetterQueue = QueueDeadLetters,
                    HandlerTimeout = TimeSpan.FromSeconds(1),
                });
        });
    }

    private static async Task HandleAsync(string consumer, BusMessage<Notice> message)
    {
        if (message.Payload.Text.StartsWith("poison", StringComparison.Ordinal))
            throw new InvalidOperationException($"poison message {message.Id}");
        await WitnessDatabase.ExecuteAsync("""
            INSERT INTO fault_handled (consumer, message_id, deliveries) VALUES ($1, $2, 1)
            ON CONFLICT (consumer, message_id) DO UPDATE SET deliveries = fault_handled.deliveries + 1
            """, consumer, message.Id);
    }
}
