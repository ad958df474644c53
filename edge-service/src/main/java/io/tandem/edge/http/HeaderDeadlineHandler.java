package io.tandem.edge.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Closes a connection whose request headers do not arrive in time: armed when the connection
 * opens and again when the last answered request's response ends (the next request on a
 * kept-alive connection), disarmed when the codec has decoded a request's headers. A pipelined
 * request read while an earlier one is answered keeps it disarmed until it too is answered. An idle timeout alone does not stop a client
 * that sends its headers a byte at a time (slowloris): every byte resets it.
 */
final class HeaderDeadlineHandler extends ChannelDuplexHandler {

    private final long timeoutNanos;
    private final Consumer<String> onTimeout;
    private ScheduledFuture<?> deadline;
    /** Requests read and not yet answered; only the event loop touches it. */
    private int unanswered;

    HeaderDeadlineHandler(Duration timeout, Consumer<String> onTimeout) {
        this.timeoutNanos = timeout.toNanos();
        this.onTimeout = onTimeout;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            arm(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        arm(ctx);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            unanswered++;
            disarm();
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof LastHttpContent) {
            // counted down now, armed once the response is out: a next request read in between
            // (the client may send it before the flush completes here) keeps the deadline off
            unanswered = Math.max(0, unanswered - 1);
            promise = promise.unvoid();
            promise.addListener(f -> {
                if (f.isSuccess() && ctx.channel().isActive() && unanswered == 0) {
                    arm(ctx);
                }
            });
        }
        super.write(ctx, msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        disarm();
        super.channelInactive(ctx);
    }

    private void arm(ChannelHandlerContext ctx) {
        disarm();
        deadline = ctx.executor().schedule(() -> {
            onTimeout.accept(String.valueOf(ctx.channel().remoteAddress()));
            ctx.close();
        }, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void disarm() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }
}
